// The app's state that must hold across instances and stamps: the tables of per-user quotas and
// conversations, in one account that every stamp reaches with its own identity
// (CHAT_STORAGE_TABLE_ENDPOINT). Shared keys are off.
//
// One shared, geo-redundant store rather than one per stamp (infra/README.md, "Shared state"): with
// priority routing the secondary stamp only serves while the primary is out, a user's history stays
// in one place, and a quota stays one quota. The price is that the store lives in one region at a
// time: while that region is out, chats still run (the quota module counts per instance, DESIGN.md
// section 8) and conversations wait for the region or for a customer-initiated failover.

import { tagMap } from 'types.bicep'

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account (its primary region when geo-redundant).')
param location string

@description('Tags for the account.')
param tags tagMap

@description('Replication: Standard_GZRS (zones in the primary region, copied to the paired region) unless there is a reason; see infra/README.md.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param skuName string

@description('Tables the app keeps its state in (per-user quotas, conversations); 3-63 letters and digits each.')
param tableNames string[]

@description('Names of every stamp\'s user-assigned identity (in this resource group), each granted Storage Table Data Contributor.')
param appIdentityNames string[]

// Read, write and delete entities (and tables) with Entra ID: what shared/quota needs, no more. It
// does not include Storage Table Data Owner's management of access policies.
var storageTableDataContributor = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
)

// Looked up by name so role assignment names are known before the identities exist (what-if).
resource appIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = [
  for identityName in appIdentityNames: {
    name: identityName
  }
]

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
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

  resource tableService 'tableServices' = {
    name: 'default'

    resource tables 'tables' = [
      for tableName in tableNames: {
        name: tableName
      }
    ]
  }
}

resource appsUseTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in appIdentityNames: {
    name: guid(account.id, appIdentities[i].id, storageTableDataContributor)
    scope: account
    properties: {
      roleDefinitionId: storageTableDataContributor
      principalId: appIdentities[i].properties.principalId
      principalType: 'ServicePrincipal'
      description: 'Per-user quotas and conversations in Table Storage, identity-based (CHAT_STORAGE_TABLE_ENDPOINT).'
    }
  }
]

@description('Table service endpoint, for CHAT_STORAGE_TABLE_ENDPOINT (e.g. https://<account>.table.core.windows.net/).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Storage account name.')
output name string = account.name
