// Serverless chat backend in one or two stamps. A stamp is a Function App (Flex Consumption, Node 22)
// with its own identity, host storage and Application Insights, in one region. Every stamp calls one
// Azure OpenAI account per region (its own region first) and keeps quotas and conversations in one
// geo-redundant table store. With two stamps, Azure Front Door (Standard) with a WAF sends the API to
// the primary stamp and to the secondary one when the primary's /api/health stops answering 200.
// Deploy: scripts/infra/deploy.sh (or `azd up`); what each mode survives: infra/README.md.
//
// Subscription scope, so one deployment also creates the resource groups: rg-<env> holds the primary
// stamp and what every stamp shares (Azure OpenAI accounts, table store, Key Vault); with two stamps,
// rg-<env>-<secondary region> holds the second stamp in that region (it survives the primary
// region's control plane) and rg-<env>-global holds Front Door. `deploy.sh` and `azd up` need
// nothing to exist beforehand, and deleting the groups removes everything this template made.
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

@description('Whether a developer gets Cognitive Services OpenAI User on each account (and, with keys on, Key Vault Secrets User on the vault) to run the backend locally against the real accounts. Off by default: a CI principal that deploys should not also become a caller of the models.')
param grantDeveloperAccess bool = false

@description('Object id of that developer (user, group or service principal). Empty: whoever runs the deployment (deployer(), which works for az login as a user and as a service principal).')
param developerPrincipalId string = ''

@description('Kind of principal developerPrincipalId is (ignored when it is empty: Azure resolves the deployer\'s kind). scripts/infra/deploy.sh --developer-principal-type sets it.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param developerPrincipalType string = 'User'

@description('Memory per Function App instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Maximum number of instances per Function App (Flex Consumption: 1-1000); caps cost under load.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Always-ready instances of the HTTP functions per Function App (Flex Consumption): 0 scales to zero (cold starts, no idle cost); 1 or more keeps that many instances warm and billed.')
@minValue(0)
@maxValue(1000)
param functionAlwaysReadyInstances int = 0

@description('Whether each stamp\'s Flex Consumption plan spreads its instances across availability zones (the region must support it; at least 2 always-ready instances are then advised).')
param zoneRedundant bool = false

@description('Resource id of an existing action group (Microsoft.Insights/actionGroups) the alerts notify: every region failing, 5xx rate, Azure OpenAI throttling. Empty: the alerts fire in the portal and notify nobody.')
param alertActionGroupId string = ''

@description('Alert when one stamp answers more than this many 5xx in 5 minutes.')
@minValue(1)
param alert5xxPerFiveMinutes int = 10

@description('Alert when one Azure OpenAI account throttles (429: its quota is used up) more than this many requests in 5 minutes.')
@minValue(1)
param alertThrottledPerFiveMinutes int = 20

@description('Client (application) id of the app registration that user access tokens are issued for; infra/README.md shows the az commands that create it. Empty: no user sign-in settings (function keys only).')
param authClientId string = ''

@description('Tenant that issues the user access tokens; default: the tenant of this deployment.')
param authTenantId string = tenant().tenantId

@description('Client id of the SPA app registration the demo page signs in with (MSAL); empty: the page offers the function key only.')
param webClientId string = ''

@secure()
@description('A value for the Key Vault secret chat-response-id-secret (CHAT_RESPONSE_ID_SECRET: signs the Responses API ids, the same on every instance and stamp), written only when given. scripts/infra/deploy.sh generates one when the vault has none yet and passes nothing afterwards, so the secret, and every id signed with it, outlives deployments. The app reads it by Key Vault reference.')
param newResponseIdSecret string = ''

@secure()
@description('A value for the Key Vault secret chat-service-keys (CHAT_SERVICE_KEYS: comma-separated keys of server-to-server callers when users sign in), written only when given; deploy.sh generates one key when the vault has none yet. Rotate it in the vault (az keyvault secret set), not here.')
param newServiceKeys string = ''

@description('With an app registration (authClientId): whether callers with a service key (CHAT_SERVICE_KEYS from Key Vault) are admitted next to signed-in users.')
param allowServiceKeys bool = true

@description('Front Door WAF (twoStamps only): requests one client IP may send per minute before it is blocked for the rest of that minute. A first line in front of the per-user quotas; several users behind one NAT share an IP, so keep it well above CHAT_USER_REQUESTS_PER_MINUTE.')
@minValue(10)
param frontDoorRateLimitPerMinute int = 600

@description('Front Door (twoStamps only): seconds between health probes of /api/health from each Front Door edge. With 2 of the last 4 probes required, 20 moves traffic in about a minute each way (infra/modules/frontdoor-origins.bicep); lower detects a failed stamp sooner and costs more executions.')
@minValue(5)
@maxValue(255)
param frontDoorProbeIntervalSeconds int = 20

// Two regions are the point of the template: failover between accounts, and between stamps.
var regions string[] = toLower(primaryLocation) == toLower(secondaryLocation)
  ? fail('primaryLocation and secondaryLocation must be two different regions (both are ${primaryLocation}): failover needs a second region.')
  : [primaryLocation, secondaryLocation]

// Stamps in priority order: Front Door sends traffic to the first while it is healthy.
var stampRegions string[] = twoStamps ? regions : [primaryLocation]
// The primary stamp and the shared resources in rg-<env>; stamp 2 in its own group in its region.
var stampGroupNames = [for (region, i) in stampRegions: i == 0 ? 'rg-${environmentName}' : 'rg-${environmentName}-${region}']

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
// Every stamp's identity as the shared modules look it up: its resource group and name.
var identityRefs = [for (region, i) in stampRegions: { resourceGroup: stampGroupNames[i], name: identityNames[i] }]
var responseIdSecretName = 'chat-response-id-secret'
var serviceKeysSecretName = 'chat-service-keys'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: primaryLocation
  tags: tags
}

resource stampGroups 'Microsoft.Resources/resourceGroups@2025-04-01' = [
  for (region, i) in stampRegions: if (i > 0) {
    name: stampGroupNames[i]
    location: region
    tags: tags
  }
]

// Front Door is global: its own group, so neither region's group holds the shared entry point.
resource globalGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = if (twoStamps) {
  name: 'rg-${environmentName}-global'
  location: primaryLocation
  tags: tags
}

module identity 'modules/identity.bicep' = [
  for (region, i) in stampRegions: {
    name: 'identity-${region}'
    scope: resourceGroup(stampGroupNames[i])
    params: {
      name: identityNames[i]
      location: region
      tags: tags
    }
    dependsOn: [rg, stampGroups]
  }
]

module monitoring 'modules/monitoring.bicep' = [
  for (region, i) in stampRegions: {
    name: 'monitoring-${region}'
    scope: resourceGroup(stampGroupNames[i])
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
    scope: resourceGroup(stampGroupNames[i])
    params: {
      // 24 characters at most: st + 13 + up to 9 of the region.
      name: i == 0 ? 'st${resourceToken}' : 'st${resourceToken}${take(region, 9)}'
      location: region
      tags: tags
      deploymentContainerName: 'app-package'
      appIdentityName: identityNames[i]
      logAnalyticsId: monitoring[i].outputs.workspaceId
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
    appIdentities: identityRefs
    logAnalyticsId: monitoring[0].outputs.workspaceId
  }
  dependsOn: [identity]
}

// The vault holds the secrets every stamp reads by Key Vault reference (the response-id secret, the
// service keys) and, with keys on, the Azure OpenAI keys.
module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: primaryLocation
    tags: tags
    recover: contains(restoreSoftDeleted, keyVaultName)
    developerPrincipalId: openAiLocalAuthEnabled ? developerId : ''
    developerPrincipalType: developerType
    appIdentities: identityRefs
    secrets: union(
      empty(newResponseIdSecret) ? {} : { '${responseIdSecretName}': newResponseIdSecret },
      empty(newServiceKeys) ? {} : { '${serviceKeysSecretName}': newServiceKeys }
    )
    logAnalyticsId: monitoring[0].outputs.workspaceId
  }
  dependsOn: [identity]
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
      appIdentities: identityRefs
      developerPrincipalId: developerId
      developerPrincipalType: developerType
      logAnalyticsId: monitoring[0].outputs.workspaceId
    }
    dependsOn: [identity, keyVault]
  }
]

module frontDoor 'modules/frontdoor.bicep' = if (twoStamps) {
  name: 'frontdoor'
  scope: resourceGroup('rg-${environmentName}-global')
  params: {
    profileName: 'afd-${resourceToken}'
    endpointName: 'api-${resourceToken}'
    wafPolicyName: 'waf${resourceToken}'
    tags: tags
    rateLimitPerMinute: frontDoorRateLimitPerMinute
    logAnalyticsId: monitoring[0].outputs.workspaceId
  }
  dependsOn: [globalGroup]
}

// One stamp at a time: a change to both (app settings, runtime) never restarts them together.
@batchSize(1)
module functionApp 'modules/functionapp.bicep' = [
  for (region, i) in stampRegions: {
    name: 'functionapp-${region}'
    scope: resourceGroup(stampGroupNames[i])
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
      keyVaultUri: keyVault.outputs.uri
      keyVaultName: keyVaultName
      exposeKeyVaultUrl: openAiLocalAuthEnabled
      responseIdSecretName: responseIdSecretName
      serviceKeysSecretName: allowServiceKeys ? serviceKeysSecretName : ''
      // Local first: the stamp's own region, then the others in order.
      chatRegions: [for j in range(0, length(regions)): openAi[(i + j) % length(regions)].outputs.chatRegion]
      defaultModel: models[0].modelName
      corsAllowedOrigins: corsAllowedOrigins
      instanceMemoryMB: functionInstanceMemoryMB
      maximumInstanceCount: functionMaximumInstanceCount
      alwaysReadyInstances: functionAlwaysReadyInstances
      zoneRedundant: zoneRedundant
      frontDoorId: twoStamps ? frontDoor!.outputs.frontDoorId : ''
      // The retention sweep deletes from the one shared table: the primary stamp runs it, alone.
      runsRetention: i == 0
      logAnalyticsId: monitoring[i].outputs.workspaceId
    }
  }
]

var openAiAccountIds = [
  for region in regions: resourceId(subscription().subscriptionId, rg.name, 'Microsoft.CognitiveServices/accounts', 'oai-${resourceToken}-${region}')
]

module alerts 'modules/alerts.bicep' = [
  for (region, i) in stampRegions: {
    name: 'alerts-${region}'
    scope: resourceGroup(stampGroupNames[i])
    params: {
      stampName: 'func-api-${resourceToken}${stampSuffixes[i]}'
      tags: tags
      location: region
      appInsightsId: monitoring[i].outputs.appInsightsId
      functionAppId: functionApp[i].outputs.id
      // Each account's throttling is watched once, from the primary stamp's group.
      openAiAccountIds: i == 0 ? openAiAccountIds : []
      actionGroupId: alertActionGroupId
      http5xxThreshold: alert5xxPerFiveMinutes
      throttledThreshold: alertThrottledPerFiveMinutes
    }
    dependsOn: [openAi]
  }
]

module frontDoorOrigins 'modules/frontdoor-origins.bicep' = if (twoStamps) {
  name: 'frontdoor-origins'
  scope: resourceGroup('rg-${environmentName}-global')
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

@description('Resource group of the primary stamp and the shared resources.')
output RESOURCE_GROUP string = rg.name

@description('Every stamp\'s resource group, primary first (the same order as FUNCTION_APP_NAMES).')
output FUNCTION_APP_RESOURCE_GROUPS string[] = stampGroupNames

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

@description('Vault holding the Azure OpenAI keys, for local key-vault runs; empty unless openAiLocalAuthEnabled.')
output KEY_VAULT_URL string = openAiLocalAuthEnabled ? keyVault.outputs.uri : ''

@description('Resource id of the vault holding the app\'s secrets; deploy.sh checks for them by id before a deployment (no secret value is read).')
output KEY_VAULT_ID string = keyVault.outputs.id

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

@description('Every stamp\'s Function App base URL, primary first (sign-in redirect URIs with one stamp).')
output FUNCTION_APP_URLS string[] = [for (region, i) in stampRegions: functionApp[i].outputs.url]

@description('Client id of the SPA registration the demo page signs in with (empty when none).')
output CHAT_WEB_CLIENT_ID string = webClientId

@description('Front Door endpoint URL (twoStamps), empty with one stamp.')
output FRONT_DOOR_URL string = twoStamps ? frontDoor!.outputs.url : ''

@description('Where clients call the API: Front Door with two stamps, the Function App with one; ends in /api.')
output API_BASE_URL string = '${twoStamps ? frontDoor!.outputs.url : functionApp[0].outputs.url}/api'
