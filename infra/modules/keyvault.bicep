// Key Vault for the Azure OpenAI account keys, created only when local auth is on (an opt-in: the app
// itself is keyless); openai.bicep writes the keys. A developer running the backend on a laptop reads them with their own az login identity
// (CHAT_AUTH_MODE=key-vault); in Azure the app uses its managed identity and needs no key, so the app
// identity gets no role here.

import { tagMap } from 'types.bicep'

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

// Key Vault Secrets User: read secret contents, nothing else.
var keyVaultSecretsUser = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4633458b-17de-408a-b874-0445c86b69e6'
)

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
    // retention period: scripts/infra/deploy.sh finds it and recovers it with --restore (createMode).
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

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

@description('Vault name, for the modules that write secrets.')
output name string = vault.name

@description('KEY_VAULT_URL, e.g. https://kv-abc.vault.azure.net/.')
output uri string = vault.properties.vaultUri
