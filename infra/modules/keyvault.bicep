// The environment's Key Vault: the secrets every stamp reads by Key Vault reference
// (chat-response-id-secret, chat-service-keys; each stamp's identity is a Key Vault Secrets User)
// and, when local auth is on (an opt-in), the Azure OpenAI keys openai.bicep writes, which a
// developer on a laptop reads with their own az login (CHAT_AUTH_MODE=key-vault).

import { identityRef, tagMap } from 'types.bicep'

@description('Key Vault name (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags for the vault.')
param tags tagMap

@description('Recover the soft-deleted vault of this name instead of creating one (purge protection keeps a deleted vault, and its name, for 7 days).')
param recover bool

@description('Object id of a developer (user, group or service principal) granted Key Vault Secrets User; empty for none.')
param developerPrincipalId string

@description('Kind of principal developerPrincipalId is; empty lets Azure resolve it.')
@allowed(['', 'User', 'Group', 'ServicePrincipal'])
param developerPrincipalType string

@description('Every stamp\'s user-assigned identity (its resource group and name), each granted Key Vault Secrets User for the app settings that are Key Vault references.')
param appIdentities identityRef[]

@secure()
@description('Secrets to write, name -> value. Only new ones: scripts/infra/deploy.sh passes a secret only when the vault lacks it, so a deployment never replaces one.')
param secrets { *: string }

@description('Resource id of the Log Analytics workspace that receives the vault\'s audit logs.')
param logAnalyticsId string

// Key Vault Secrets User: read secret contents, nothing else.
var keyVaultSecretsUser = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4633458b-17de-408a-b874-0445c86b69e6'
)

resource identities 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = [
  for ref in appIdentities: {
    name: ref.name
    scope: resourceGroup(ref.resourceGroup)
  }
]

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    createMode: recover ? 'recover' : 'default'
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access by Azure RBAC only; no access policies.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Purge protection cannot be turned off once on. A deleted vault keeps its name for the
    // retention period: scripts/infra/preflight.sh finds it and recovers it with --restore (createMode).
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource newSecrets 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = [
  for secret in items(secrets): {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
    }
  }
]

resource appsReadSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (ref, i) in appIdentities: {
    name: guid(vault.id, identities[i].id, keyVaultSecretsUser)
    scope: vault
    properties: {
      roleDefinitionId: keyVaultSecretsUser
      principalId: identities[i].properties.principalId
      principalType: 'ServicePrincipal'
      description: 'Function App resolves its Key Vault references (response-id secret, service keys).'
    }
  }
]

resource developerReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(vault.id, developerPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: developerPrincipalId
    principalType: empty(developerPrincipalType) ? null : developerPrincipalType
    description: 'Developer reads the Azure OpenAI keys to run the backend locally (CHAT_AUTH_MODE=key-vault).'
  }
}

// Who read or changed which secret (AuditEvent), in the primary stamp's Log Analytics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'audit', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

@description('Vault name, for the modules that write secrets.')
output name string = vault.name

@description('Vault resource id.')
output id string = vault.id

@description('KEY_VAULT_URL, e.g. https://kv-abc.vault.azure.net/.')
output uri string = vault.properties.vaultUri
