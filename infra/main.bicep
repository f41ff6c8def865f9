// Serverless chat backend: one Function App (Flex Consumption, Node 22) in front of one Azure OpenAI
// account per region, with Key Vault, Application Insights and the role assignments that let the app
// call everything with its managed identity. Deploy: scripts/infra/deploy.sh (or `azd up`).
//
// Subscription scope, so one deployment also creates the resource group: `deploy.sh` and `azd up`
// need nothing to exist beforehand, and deleting the group removes everything this template made.
targetScope = 'subscription'

import { modelDeployment } from 'modules/types.bicep'

@description('Short environment name (dev, prod, ...). Names the resource group rg-<name> and seeds the unique suffix of every resource name.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Primary Azure region: the resource group, the Function App and the first Azure OpenAI account. Must offer Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param primaryLocation string = 'eastus2'

@description('Secondary Azure region for the second Azure OpenAI account, used when the primary fails or throttles.')
param secondaryLocation string = 'swedencentral'

@description('Models deployed in every region, in order; the first is the default model.')
@minLength(1)
param models modelDeployment[]

@description('Whether Azure OpenAI accepts API keys. On: each key is stored in Key Vault so developers can run locally with CHAT_AUTH_MODE=key-vault. Off: Entra ID only (the Function App never needs a key).')
param openAiLocalAuthEnabled bool = true

@description('Browser origins allowed to call the API (CORS), e.g. https://chat.example.com. Empty: none.')
param corsAllowedOrigins string[] = []

@description('Object id of a developer (az ad signed-in-user show --query id -o tsv) granted Key Vault Secrets User and Cognitive Services OpenAI User; empty for none.')
param developerPrincipalId string = ''

@description('Kind of principal developerPrincipalId is.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param developerPrincipalType string = 'User'

@description('Memory per Function App instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Maximum number of Function App instances (Flex Consumption: 1-1000); caps cost under load.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Client (application) id of the app registration that user access tokens are issued for; infra/README.md shows the az commands that create it. Empty: no user sign-in settings (function keys only).')
param authClientId string = ''

@description('Tenant that issues the user access tokens; default: the tenant of this deployment.')
param authTenantId string = tenant().tenantId

// Tables of the app's state in the storage account: per-user quotas, conversations (issue 13; the
// app's default CHAT_CONVERSATIONS_TABLE). Table Storage has no time-to-live: retention is the app's
// CHAT_CONVERSATION_RETENTION_DAYS (default 90), enforced by its daily conversations-retention-timer.
var tableNames = ['quotas', 'conversations']

// Regions in priority order: the backend tries them in this order (CHAT_REGIONS keeps it).
var regions string[] = [primaryLocation, secondaryLocation]
var resourceToken = toLower(uniqueString(subscription().id, environmentName, primaryLocation))
var tags = { 'azd-env-name': environmentName }
// Names are computed here, not read from module outputs, so every module gets values known when the
// deployment starts (what-if can then predict role assignment and secret names); the modules that
// look these resources up by name depend on their creators explicitly.
var identityName = 'id-api-${resourceToken}'
var keyVaultName = 'kv-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: primaryLocation
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: primaryLocation
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    location: primaryLocation
    tags: tags
    appIdentityName: identityName
  }
  dependsOn: [identity]
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: primaryLocation
    tags: tags
    deploymentContainerName: 'app-package'
    appIdentityName: identityName
    tableNames: tableNames
  }
  dependsOn: [identity]
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: primaryLocation
    tags: tags
    developerPrincipalId: developerPrincipalId
    developerPrincipalType: developerPrincipalType
  }
}

module openAi 'modules/openai.bicep' = [
  for region in regions: {
    name: 'openai-${region}'
    scope: rg
    params: {
      name: 'oai-${resourceToken}-${region}'
      location: region
      tags: tags
      models: models
      localAuthEnabled: openAiLocalAuthEnabled
      keyVaultName: keyVaultName
      appIdentityName: identityName
      developerPrincipalId: developerPrincipalId
      developerPrincipalType: developerPrincipalType
    }
    dependsOn: [identity, keyVault]
  }
]

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-api-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: primaryLocation
    tags: tags
    appTags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageTableEndpoint: storage.outputs.tableEndpoint
    authClientId: authClientId
    authTenantId: authTenantId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    chatRegions: [for (region, i) in regions: openAi[i].outputs.chatRegion]
    defaultModel: models[0].modelName
    corsAllowedOrigins: corsAllowedOrigins
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
  }
}

// Outputs are named like the app settings they feed (scripts/infra/write-local-settings.sh copies
// them into local.settings.json). None is a secret: keys stay in Key Vault.

@description('Resource group holding everything.')
output RESOURCE_GROUP string = rg.name

@description('Primary region.')
output AZURE_LOCATION string = primaryLocation

@description('Tenant of the deployment, for az login / DefaultAzureCredential.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Client id of the Function App identity (AZURE_CLIENT_ID in Azure).')
output AZURE_CLIENT_ID string = identity.outputs.clientId

@description('Regions in priority order, as the JSON the backend reads from CHAT_REGIONS.')
output CHAT_REGIONS string = functionApp.outputs.chatRegionsJson

@description('Model used when a request names none.')
output CHAT_DEFAULT_MODEL string = models[0].modelName

@description('Vault holding the Azure OpenAI keys (when local auth is on).')
output KEY_VAULT_URL string = keyVault.outputs.uri

@description('Application Insights connection string (ingestion also needs Entra ID: local auth is disabled).')
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString

@description('Table Storage endpoint of the per-user quotas (and conversations), reached with Entra ID.')
output CHAT_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint

@description('Client id of the app registration user tokens are for (empty when none was given).')
output CHAT_AUTH_AUDIENCE string = empty(authClientId) ? '' : '${authClientId},api://${authClientId}'

@description('Tenant that issues user tokens.')
output CHAT_AUTH_TENANT_ID string = authTenantId

@description('Function App name, for az functionapp deploy.')
output FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Function App base URL; the API lives under /api.')
output FUNCTION_APP_URL string = functionApp.outputs.url
