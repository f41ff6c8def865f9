// One stamp's Function App on the Flex Consumption plan (Linux, Node 22), running as the stamp's
// user-assigned identity for everything: host storage, deployment package, Application Insights,
// Azure OpenAI, the shared table store.

import { chatRegion, tagMap } from 'types.bicep'

@description('Function App name (also the default host name prefix).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags for the plan.')
param tags tagMap

@description('Tags for the app; azd finds the app to publish by its azd-service-name tag.')
param appTags tagMap

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Storage account for AzureWebJobsStorage.')
param storageAccountName string

@description('Blob container URL Flex Consumption deploys packages to.')
param deploymentContainerUrl string

@description('Table service endpoint of the storage account, where per-user quotas live (CHAT_STORAGE_TABLE_ENDPOINT).')
param storageTableEndpoint string

@description('Client id of the app registration user tokens are issued for (CHAT_AUTH_AUDIENCE); empty: no user sign-in settings.')
param authClientId string

@description('Tenant that issues user tokens (CHAT_AUTH_TENANT_ID).')
param authTenantId string

@description('Client id of the SPA registration the demo page signs in with (CHAT_WEB_CLIENT_ID); empty: none.')
param webClientId string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('URI of the environment\'s Key Vault.')
param keyVaultUri string

@description('Name of that vault, for the Key Vault references.')
param keyVaultName string

@description('Whether to set KEY_VAULT_URL (only with keys on; the app reads nothing else from the vault itself).')
param exposeKeyVaultUrl bool

@description('Secret holding CHAT_RESPONSE_ID_SECRET.')
param responseIdSecretName string

@description('Secret holding CHAT_SERVICE_KEYS when users sign in and key callers are admitted beside them; empty: users only.')
param serviceKeysSecretName string

@description('Regions in priority order, as the backend reads CHAT_REGIONS.')
param chatRegions chatRegion[]

@description('Model used when a request names none (CHAT_DEFAULT_MODEL).')
param defaultModel string

@description('Origins allowed to call the API from a browser, e.g. https://chat.example.com. Empty: no browser origin.')
param corsAllowedOrigins string[]

@description('Memory of each instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Upper bound on instances the app scales out to (Flex Consumption: 1-1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Always-ready instances for the HTTP functions (0: scale to zero).')
@minValue(0)
param alwaysReadyInstances int

@description('Whether the plan spreads instances across availability zones.')
param zoneRedundant bool

@description('Whether this stamp runs the conversation retention timer: one stamp does, since the table is shared.')
param runsRetention bool

@description('Log Analytics workspace of the stamp (FunctionAppLogs and metrics).')
param logAnalyticsId string

@description('Front Door profile id (its X-Azure-FDID header): when set, the app answers only requests that came through that Front Door; empty: anyone may call the app directly.')
param frontDoorId string

// A Key Vault reference without a version follows the secret's latest version (re-read within a day,
// or at the next restart): a deployment changes nothing here, so it restarts nothing.
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references
var keyVaultReferencePrefix = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName='

// One serialisation for the app setting and the output, so they cannot disagree.
var chatRegionsJson = string(chatRegions)

// Flex Consumption sets the runtime from functionAppConfig; FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE must not be set here.
var coreSettings = {
  // Identity-based host storage: no connection string, no key.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry with Entra ID (the component has local auth disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  // The backend's contract: shared/config.ts.
  CHAT_REGIONS: chatRegionsJson
  CHAT_AUTH_MODE: 'managed-identity'
  CHAT_DEFAULT_MODEL: defaultModel
  AZURE_CLIENT_ID: identityClientId
  // Per-user quotas in Table Storage, reached with the identity (shared/quota/settings.ts).
  CHAT_STORAGE_TABLE_ENDPOINT: storageTableEndpoint
  // One secret for every instance and stamp, kept in Key Vault across deployments: a response id from
  // one instance is read by the next (shared/responses/ids.ts).
  CHAT_RESPONSE_ID_SECRET: '${keyVaultReferencePrefix}${responseIdSecretName})'
}

// The timer sweeps the one shared conversations table; every stamp but one disables it by the
// host's own setting (https://learn.microsoft.com/azure/azure-functions/disable-function).
var retentionSettings = runsRetention ? {} : { 'AzureWebJobs.conversations-retention-timer.Disabled': 'true' }

// User sign-in: Entra ID access tokens issued for the app registration (infra/README.md shows how to
// create it); v2 tokens carry the client id as `aud`, v1 ones the app id URI, so both are accepted.
// Without a registration the chat endpoints keep function keys (CHAT_AUTH_CALLERS=service): the app's
// default in Azure is sign-in required, which would refuse to start without an audience.
// KEY_VAULT_URL tells the backend to read Azure OpenAI keys itself: only with keys on (an opt-in).
var keyVaultSettings = exposeKeyVaultUrl ? { KEY_VAULT_URL: keyVaultUri } : {}

var userSignInSettings = empty(authClientId)
  ? {
      CHAT_AUTH_CALLERS: 'service'
    }
  : union(
      {
        CHAT_AUTH_CALLERS: empty(serviceKeysSecretName) ? 'users' : 'users,service'
        CHAT_AUTH_AUDIENCE: '${authClientId},api://${authClientId}'
        CHAT_AUTH_TENANT_ID: authTenantId
      },
      // Key callers next to users: the app checks their keys itself (shared/auth/access.ts).
      empty(serviceKeysSecretName) ? {} : { CHAT_SERVICE_KEYS: '${keyVaultReferencePrefix}${serviceKeysSecretName})' }
    )

// The demo page's MSAL sign-in needs the API's registration too (its scope is the page's to ask for).
var webSignInSettings = empty(authClientId) ? {} : empty(webClientId) ? {} : { CHAT_WEB_CLIENT_ID: webClientId }

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings resolve with this identity.
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyInstances == 0 ? [] : [{ name: 'http', instanceCount: alwaysReadyInstances }]
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
      // Behind Front Door: only its backend addresses carrying this profile's id get in, so nobody
      // walks around the WAF to the azurewebsites.net name.
      ipSecurityRestrictions: empty(frontDoorId)
        ? []
        : [
            {
              name: 'FrontDoorOnly'
              action: 'Allow'
              priority: 100
              tag: 'ServiceTag'
              ipAddress: 'AzureFrontDoor.Backend'
              headers: { 'x-azure-fdid': [frontDoorId] }
            }
          ]
      ipSecurityRestrictionsDefaultAction: empty(frontDoorId) ? 'Allow' : 'Deny'
      // The publishing (scm) site is closed to everyone: deploy.sh opens it to its own address for
      // the upload and closes it again (az functionapp config access-restriction --scm-site true).
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictions: []
      scmIpSecurityRestrictionsDefaultAction: 'Deny'
    }
  }

  resource appSettings 'config' = {
    name: 'appsettings'
    properties: union(coreSettings, keyVaultSettings, userSignInSettings, webSignInSettings, retentionSettings)
  }

  // No FTP and no basic (user name and password) publishing: deploy.sh publishes with Entra ID.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
}

// The host's and functions' logs (FunctionAppLogs) and the app's metrics in the stamp's Log Analytics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

@description('Function App name.')
output name string = site.name

@description('Function App resource id (its 5xx alert watches it).')
output id string = site.id

@description('Default host name, e.g. func-abc.azurewebsites.net (a Front Door origin).')
output hostName string = site.properties.defaultHostName

@description('Base URL of the app, e.g. https://func-abc.azurewebsites.net.')
output url string = 'https://${site.properties.defaultHostName}'

@description('CHAT_REGIONS exactly as set on the app.')
output chatRegionsJson string = chatRegionsJson
