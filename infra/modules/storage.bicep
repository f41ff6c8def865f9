// One stamp's host storage (AzureWebJobsStorage) and the blob container Flex Consumption deploys
// packages to, in the stamp's region. Shared keys are off: the host and the deployment use the
// stamp's identity. The app's own state (quotas, conversations) is not here but in state.bicep: it
// needs geo-redundancy and must be shared by every stamp, which host storage needs neither of.

import { tagMap } from 'types.bicep'

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags for the account.')
param tags tagMap

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Name of the stamp\'s user-assigned identity (in this resource group), granted Storage Blob Data Owner.')
param appIdentityName string

@description('Resource id of the Log Analytics workspace that receives this module\'s diagnostic logs and metrics.')
param logAnalyticsId string

// Storage Blob Data Owner covers what the Functions host needs from AzureWebJobsStorage (read/write
// blobs, create containers) and what Flex needs to read the deployment package. Queue (Storage Queue
// Data Contributor) is only needed for blob triggers and Table for Durable Functions; this backend is
// HTTP-only, so they are not granted (least privilege). Source: Azure Functions docs, "Connecting to
// host storage with an identity" (includes/functions-azurewebjobsstorage-permissions.md).
var storageBlobDataOwner = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
)

// The identity is looked up by name, not passed in as a principal id: a principal id only exists
// once the identity does, and a runtime value in a role assignment name defeats what-if. Its
// resource id stands for the principal in the assignment name instead.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: { publicAccess: 'None' }
    }
  }
}

// Reads, writes and deletes of the host's blobs (and the deployment package), and the account's
// transaction metrics, in the stamp's Log Analytics.
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsId
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account::blobService
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource appOwnsBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, storageBlobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: storageBlobDataOwner
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Functions host storage (AzureWebJobsStorage) and Flex deployment package, identity-based.'
  }
}

@description('Storage account name, for AzureWebJobsStorage__accountName.')
output name string = account.name

@description('URL of the deployment container, for functionAppConfig.deployment.storage.value.')
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'
