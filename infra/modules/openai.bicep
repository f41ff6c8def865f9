// One Azure OpenAI account in one region, its model deployments, its role assignments, and (when
// local auth is on) its key as a Key Vault secret. main.bicep loops this module over the regions.

import { identityRef, modelDeployment, chatRegion, tagMap } from 'types.bicep'

@description('Account name; also its custom subdomain, so the endpoint is https://<name>.openai.azure.com/.')
@minLength(2)
@maxLength(64)
param name string

@description('Azure region of the account.')
param location string

@description('Tags for the account.')
param tags tagMap

@description('Models to deploy, in this order, one at a time.')
param models modelDeployment[]

@description('Whether API keys work on this account. Off: Entra ID only, and no key goes to Key Vault.')
param localAuthEnabled bool

@description('Recover the soft-deleted account of this name instead of creating one (a deleted account keeps its name for 48 hours).')
param restore bool

@description('Key Vault that receives the account key when localAuthEnabled.')
param keyVaultName string

@description('Every stamp\'s user-assigned identity (its resource group and name), each granted Cognitive Services OpenAI User.')
param appIdentities identityRef[]

@description('Resource id of the Log Analytics workspace that receives this module\'s diagnostic logs and metrics.')
param logAnalyticsId string

@description('Object id of a developer granted Cognitive Services OpenAI User; empty for none.')
param developerPrincipalId string

@description('Kind of principal developerPrincipalId is; empty lets Azure resolve it.')
@allowed(['', 'User', 'Group', 'ServicePrincipal'])
param developerPrincipalType string

// Cognitive Services OpenAI User: call inference (chat completions) with an Entra token; no keys,
// no management.
var openAiUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd')
var keySecretName = 'openai-key-${location}'

// The identities are looked up by name, not passed in as principal ids: a principal id only exists
// once the identity does, and a runtime value in a role assignment name defeats what-if. Their
// resource ids stand for the principals in the assignment names instead.
resource identities 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = [
  for ref in appIdentities: {
    name: ref.name
    scope: resourceGroup(ref.resourceGroup)
  }
]

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: !localAuthEnabled
    // Without it, creating an account whose name is soft-deleted fails with FlagMustBeSetForRestore.
    restore: restore
    publicNetworkAccess: 'Enabled'
  }
}

// Azure OpenAI rejects concurrent deployment writes on one account ("another operation is in
// progress"), so the deployments go one at a time.
@batchSize(1)
resource deployments 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = [
  for model in models: {
    parent: account
    name: model.deploymentName
    sku: {
      name: model.skuName
      capacity: model.capacity
    }
    properties: {
      model: {
        format: 'OpenAI'
        name: model.modelName
        version: model.modelVersion
      }
      // The version is pinned by the parameter and checked by scripts/infra/preflight.sh before each
      // deployment (GA, not retiring within its window). At retirement Azure moves a deployment only
      // to a replacement the retirement schedule names, and many GA versions have none: then the
      // deployment stops answering. So keep the pinned versions current; this option only takes the
      // replacement when there is one. (NoAutoUpgrade is refused on a version close to retirement.)
      versionUpgradeOption: 'OnceCurrentVersionExpired'
    }
  }
]

// Requests (audit, request and response logs) and metrics (tokens, latency, 429s) in Log Analytics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

resource appCallsOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (ref, i) in appIdentities: {
    name: guid(account.id, identities[i].id, openAiUser)
    scope: account
    properties: {
      roleDefinitionId: openAiUser
      principalId: identities[i].properties.principalId
      principalType: 'ServicePrincipal'
      description: 'Function App calls chat completions with its managed identity.'
    }
  }
]

resource developerCallsOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(account.id, developerPrincipalId, openAiUser)
  scope: account
  properties: {
    roleDefinitionId: openAiUser
    principalId: developerPrincipalId
    principalType: empty(developerPrincipalType) ? null : developerPrincipalType
    description: 'Developer calls chat completions with their own az login identity.'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

// The key never leaves the deployment: listKeys() is evaluated by Resource Manager and written
// straight into the vault; no parameter or output carries it.
resource keySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (localAuthEnabled) {
  parent: vault
  name: keySecretName
  properties: {
    value: account.listKeys().key1
    contentType: 'Azure OpenAI API key for ${account.name} (${location})'
  }
}

@description('This region as a CHAT_REGIONS entry.')
// keySecretName is left out, not null, when local auth is off: the backend's schema treats a
// present keySecretName as a promise that the secret exists.
output chatRegion chatRegion = union(
  {
    name: location
    endpoint: account.properties.endpoint
    deployments: toObject(models, m => m.modelName, m => m.deploymentName)
  },
  localAuthEnabled ? { keySecretName: keySecretName } : {}
)

@description('Account name.')
output name string = account.name

@description('Account resource id (its throttling alert watches it).')
output id string = account.id
