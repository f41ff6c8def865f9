// The Function App's host storage (AzureWebJobsStorage), the blob container Flex Consumption deploys
// packages to, and the tables where the app keeps state that must hold across instances (per-user
// quotas, conversations). Shared keys are off: the host, the deployment and the app use its identity.
//
// The tables live in this account rather than a dedicated one: the host of an HTTP-only app makes few
// storage calls, so nearly all of the account's ~20,000 transactions/s go to the tables; one account
// is one less resource to secure and pay for. A dedicated account would pay off when the tables need
// other data protection (backup, a different region, customer-managed keys) than host storage.

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

@description('Name of the Function App\'s user-assigned identity (in this resource group), granted Storage Blob Data Owner and Storage Table Data Contributor.')
param appIdentityName string

@description('Tables the app keeps its state in (per-user quotas, conversations); 3-63 letters and digits each.')
param tableNames string[]

// Storage Blob Data Owner covers what the Functions host needs from AzureWebJobsStorage (read/write
// blobs, create containers) and what Flex needs to read the deployment package. Queue (Storage Queue
// Data Contributor) is only needed for blob triggers and Table for Durable Functions; this backend is
// HTTP-only, so they are not granted (least privilege). Source: Azure Functions docs, "Connecting to
// host storage with an identity" (includes/functions-azurewebjobsstorage-permissions.md).
var storageBlobDataOwner = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
)
// Read, write and delete entities (and tables) with Entra ID: what shared/quota needs, no more. It
// does not include Storage Table Data Owner's management of access policies.
var storageTableDataContributor = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
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

  resource tableService 'tableServices' = {
    name: 'default'

    resource tables 'tables' = [
      for tableName in tableNames: {
        name: tableName
      }
    ]
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

resource appUsesTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, storageTableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: storageTableDataContributor
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Per-user quotas and conversations in Table Storage, identity-based (CHAT_STORAGE_TABLE_ENDPOINT).'
  }
}

@description('Storage account name, for AzureWebJobsStorage__accountName.')
output name string = account.name

@description('URL of the deployment container, for functionAppConfig.deployment.storage.value.')
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'

@description('Table service endpoint, for CHAT_STORAGE_TABLE_ENDPOINT (e.g. https://<account>.table.core.windows.net/).')
output tableEndpoint string = account.properties.primaryEndpoints.table
