// Serverless chat backend in one or two stamps. A stamp is a Function App (Flex Consumption, Node 22)
// with its own identity, host storage and Application Insights, in one region. Every stamp calls one
// Azure OpenAI account per region (its own region first) and keeps quotas and conversations in one
// geo-redundant table store. With two stamps, Azure Front Door (Standard) with a WAF sends the API to
// the primary stamp and to the secondary one when the primary's /api/health stops answering 200.
// Deploy: scripts/infra/deploy.sh (or `azd up`); what each mode survives: infra/README.md.
//
// Subscription scope, so one deployment also creates the resource group: `deploy.sh` and `azd up`
// need nothing to exist beforehand, and deleting the group removes everything this template made.
targetScope = 'subscription'

import { modelDeployment } from 'modules/types.bicep'

@description('Short environment name (dev, prod, ...). Names the resource group rg-<name> and seeds the unique suffix of every resource name.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Primary Azure region: the resource group, the first stamp, the first Azure OpenAI account and the table store. Must offer Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param primaryLocation string = 'eastus2'

@description('Secondary Azure region: the second Azure OpenAI account (used when the primary fails or throttles) and, with twoStamps, the second stamp. Must differ from primaryLocation.')
param secondaryLocation string = 'swedencentral'

@description('false: one stamp (Function App in the primary region). true: a second stamp in the secondary region and Azure Front Door with a WAF in front of both.')
param twoStamps bool = false

@description('Models deployed in every region, in order; the first is the default model. scripts/infra/preflight.sh checks each version and its quota in both regions before a deployment.')
@minLength(1)
param models modelDeployment[]

@description('Whether Azure OpenAI accepts API keys. Off (default): Entra ID only; the app never needs a key. On: an opt-in for local development against the real accounts, each key is stored in a Key Vault created for it (CHAT_AUTH_MODE=key-vault).')
param openAiLocalAuthEnabled bool = false

@description('Names of soft-deleted Azure OpenAI accounts and Key Vaults of this environment to recover instead of creating (scripts/infra/deploy.sh --restore fills it from its preflight). A name listed here that is not soft-deleted fails the deployment.')
param restoreSoftDeleted string[] = []

@description('Replication of the table store holding per-user quotas and conversations (shared by every stamp). Standard_GZRS: zone-redundant in the primary region, copied to its paired region; infra/README.md weighs the choices.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param stateStorageSku string = 'Standard_GZRS'

@description('Browser origins allowed to call the API (CORS), e.g. https://chat.example.com. Empty: none.')
param corsAllowedOrigins string[] = []

@description('Whether a developer gets Cognitive Services OpenAI User on each account (and Key Vault Secrets User on the vault) to run the backend locally against the real accounts.')
param grantDeveloperAccess bool = true

@description('Object id of that developer (user, group or service principal). Empty: whoever runs the deployment (deployer(), which works for az login as a user and as a service principal).')
param developerPrincipalId string = ''

@description('Kind of principal developerPrincipalId is (ignored when it is empty: Azure resolves the deployer\'s kind).')
@allowed(['User', 'Group', 'ServicePrincipal'])
param developerPrincipalType string = 'User'

@description('Memory per Function App instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Maximum number of instances per Function App (Flex Consumption: 1-1000); caps cost under load.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Client (application) id of the app registration that user access tokens are issued for; infra/README.md shows the az commands that create it. Empty: no user sign-in settings (function keys only).')
param authClientId string = ''

@description('Tenant that issues the user access tokens; default: the tenant of this deployment.')
param authTenantId string = tenant().tenantId

@description('Client id of the SPA app registration the demo page signs in with (MSAL); empty: the page offers the function key only.')
param webClientId string = ''

@secure()
@description('CHAT_SERVICE_KEYS: comma-separated keys for server-to-server callers, or a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)). The app checks them itself wherever clients put them: Authorization: Bearer (the apiKey of every OpenAI SDK), api-key, x-functions-key or ?code=. Empty (default): without sign-in the Functions host checks its own function keys, in x-functions-key or ?code= only; with sign-in, no keys.')
param serviceKeys string = ''

@secure()
@description('CHAT_RESPONSE_ID_SECRET, at least 32 characters: signs the Responses API ids each caller is given, the same on every instance and stamp. Empty (default): one is generated at each deployment, so response ids given out before a deployment answer 404 after it; pass a fixed value (e.g. from Key Vault) to keep them.')
param responseIdSecret string = ''

@secure()
@description('The secret generated for responseIdSecret when it is empty; leave it unset.')
param generatedResponseIdSecret string = newGuid()

@description('Front Door WAF (twoStamps only): requests one client IP may send per minute before it is blocked for the rest of that minute. A first line in front of the per-user quotas; several users behind one NAT share an IP, so keep it well above CHAT_USER_REQUESTS_PER_MINUTE.')
@minValue(10)
param frontDoorRateLimitPerMinute int = 600

@description('Front Door (twoStamps only): seconds between health probes of /api/health from each Front Door edge. Lower detects a failed stamp sooner and costs more executions.')
@minValue(5)
@maxValue(255)
param frontDoorProbeIntervalSeconds int = 100

// Two regions are the point of the template: failover between accounts, and between stamps.
var regions string[] = toLower(primaryLocation) == toLower(secondaryLocation)
  ? fail('primaryLocation and secondaryLocation must be two different regions (both are ${primaryLocation}): failover needs a second region.')
  : [primaryLocation, secondaryLocation]

// Stamps in priority order: Front Door sends traffic to the first while it is healthy.
var stampRegions string[] = twoStamps ? regions : [primaryLocation]

var resourceToken = toLower(uniqueString(subscription().id, environmentName, primaryLocation))
var tags = { 'azd-env-name': environmentName }
// Names are computed here, not read from module outputs, so every module gets values known when the
// deployment starts (what-if can then predict role assignment and secret names); the modules that
// look these resources up by name depend on their creators explicitly. The primary stamp keeps the
// names of the one-stamp layout, so switching twoStamps on adds resources and renames none.
var stampSuffixes = [for (region, i) in stampRegions: i == 0 ? '' : '-${region}']
var identityNames = [for (region, i) in stampRegions: 'id-api-${resourceToken}${stampSuffixes[i]}']
var keyVaultName = 'kv-${resourceToken}'
var developerId = grantDeveloperAccess ? (empty(developerPrincipalId) ? deployer().objectId : developerPrincipalId) : ''
var developerType = empty(developerPrincipalId) ? '' : developerPrincipalType

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: primaryLocation
  tags: tags
}

module identity 'modules/identity.bicep' = [
  for (region, i) in stampRegions: {
    name: 'identity-${region}'
    scope: rg
    params: {
      name: identityNames[i]
      location: region
      tags: tags
    }
  }
]

module monitoring 'modules/monitoring.bicep' = [
  for (region, i) in stampRegions: {
    name: 'monitoring-${region}'
    scope: rg
    params: {
      logAnalyticsName: 'log-${resourceToken}${stampSuffixes[i]}'
      appInsightsName: 'appi-${resourceToken}${stampSuffixes[i]}'
      location: region
      tags: tags
      appIdentityName: identityNames[i]
    }
    dependsOn: [identity]
  }
]

module storage 'modules/storage.bicep' = [
  for (region, i) in stampRegions: {
    name: 'storage-${region}'
    scope: rg
    params: {
      // 24 characters at most: st + 13 + up to 9 of the region.
      name: i == 0 ? 'st${resourceToken}' : 'st${resourceToken}${take(region, 9)}'
      location: region
      tags: tags
      deploymentContainerName: 'app-package'
      appIdentityName: identityNames[i]
    }
    dependsOn: [identity]
  }
]

module state 'modules/state.bicep' = {
  name: 'state'
  scope: rg
  params: {
    name: 'ststate${resourceToken}'
    location: primaryLocation
    tags: tags
    skuName: stateStorageSku
    tableNames: ['quotas', 'conversations']
    appIdentityNames: identityNames
  }
  dependsOn: [identity]
}

module keyVault 'modules/keyvault.bicep' = if (openAiLocalAuthEnabled) {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: primaryLocation
    tags: tags
    recover: contains(restoreSoftDeleted, keyVaultName)
    developerPrincipalId: developerId
    developerPrincipalType: developerType
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
      restore: contains(restoreSoftDeleted, 'oai-${resourceToken}-${region}')
      keyVaultName: keyVaultName
      appIdentityNames: identityNames
      developerPrincipalId: developerId
      developerPrincipalType: developerType
    }
    dependsOn: [identity, keyVault]
  }
]

module frontDoor 'modules/frontdoor.bicep' = if (twoStamps) {
  name: 'frontdoor'
  scope: rg
  params: {
    profileName: 'afd-${resourceToken}'
    endpointName: 'api-${resourceToken}'
    wafPolicyName: 'waf${resourceToken}'
    tags: tags
    rateLimitPerMinute: frontDoorRateLimitPerMinute
  }
}

module functionApp 'modules/functionapp.bicep' = [
  for (region, i) in stampRegions: {
    name: 'functionapp-${region}'
    scope: rg
    params: {
      name: 'func-api-${resourceToken}${stampSuffixes[i]}'
      planName: 'plan-${resourceToken}${stampSuffixes[i]}'
      location: region
      tags: tags
      // azd publishes to the one app tagged azd-service-name=api; deploy.sh publishes to every stamp.
      appTags: i == 0 ? union(tags, { 'azd-service-name': 'api' }) : union(tags, { 'chat-stamp': region })
      identityId: identity[i].outputs.id
      identityClientId: identity[i].outputs.clientId
      storageAccountName: storage[i].outputs.name
      storageTableEndpoint: state.outputs.tableEndpoint
      authClientId: authClientId
      authTenantId: authTenantId
      webClientId: webClientId
      deploymentContainerUrl: storage[i].outputs.deploymentContainerUrl
      appInsightsConnectionString: monitoring[i].outputs.connectionString
      keyVaultUri: openAiLocalAuthEnabled ? keyVault!.outputs.uri : ''
      // Local first: the stamp's own region, then the others in order.
      chatRegions: [for j in range(0, length(regions)): openAi[(i + j) % length(regions)].outputs.chatRegion]
      defaultModel: models[0].modelName
      corsAllowedOrigins: corsAllowedOrigins
      instanceMemoryMB: functionInstanceMemoryMB
      maximumInstanceCount: functionMaximumInstanceCount
      frontDoorId: twoStamps ? frontDoor!.outputs.frontDoorId : ''
      responseIdSecret: empty(responseIdSecret) ? generatedResponseIdSecret : responseIdSecret
      serviceKeys: serviceKeys
    }
  }
]

module frontDoorOrigins 'modules/frontdoor-origins.bicep' = if (twoStamps) {
  name: 'frontdoor-origins'
  scope: rg
  params: {
    profileName: 'afd-${resourceToken}'
    endpointName: 'api-${resourceToken}'
    originHostNames: [for (region, i) in stampRegions: functionApp[i].outputs.hostName]
    probeIntervalSeconds: frontDoorProbeIntervalSeconds
  }
}

// Outputs are named like the app settings they feed (scripts/infra/write-local-settings.sh copies
// them into local.settings.json); where stamps differ they describe the primary one. None is a
// secret: keys stay in Key Vault.

@description('Resource group holding everything.')
output RESOURCE_GROUP string = rg.name

@description('Primary region.')
output AZURE_LOCATION string = primaryLocation

@description('Tenant of the deployment, for az login / DefaultAzureCredential.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Client id of the primary Function App\'s identity (AZURE_CLIENT_ID in Azure).')
output AZURE_CLIENT_ID string = identity[0].outputs.clientId

@description('Regions in the primary stamp\'s priority order, as the JSON the backend reads from CHAT_REGIONS.')
output CHAT_REGIONS string = functionApp[0].outputs.chatRegionsJson

@description('Model used when a request names none.')
output CHAT_DEFAULT_MODEL string = models[0].modelName

@description('Vault holding the Azure OpenAI keys; empty unless openAiLocalAuthEnabled.')
output KEY_VAULT_URL string = openAiLocalAuthEnabled ? keyVault!.outputs.uri : ''

@description('Application Insights connection string of the primary stamp (ingestion also needs Entra ID: local auth is disabled).')
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring[0].outputs.connectionString

@description('Table Storage endpoint of the per-user quotas (and conversations), shared by every stamp, reached with Entra ID.')
output CHAT_STORAGE_TABLE_ENDPOINT string = state.outputs.tableEndpoint

@description('Client id of the app registration user tokens are for (empty when none was given).')
output CHAT_AUTH_AUDIENCE string = empty(authClientId) ? '' : '${authClientId},api://${authClientId}'

@description('Tenant that issues user tokens.')
output CHAT_AUTH_TENANT_ID string = authTenantId

@description('Primary Function App name, for az functionapp deploy.')
output FUNCTION_APP_NAME string = functionApp[0].outputs.name

@description('Primary Function App base URL; the API lives under /api. With twoStamps it only answers through Front Door.')
output FUNCTION_APP_URL string = functionApp[0].outputs.url

@description('Every stamp\'s Function App name, primary first: deploy.sh publishes the package to each.')
output FUNCTION_APP_NAMES string[] = [for (region, i) in stampRegions: functionApp[i].outputs.name]

@description('Front Door endpoint URL (twoStamps), empty with one stamp.')
output FRONT_DOOR_URL string = twoStamps ? frontDoor!.outputs.url : ''

@description('Where clients call the API: Front Door with two stamps, the Function App with one; ends in /api.')
output API_BASE_URL string = '${twoStamps ? frontDoor!.outputs.url : functionApp[0].outputs.url}/api'
