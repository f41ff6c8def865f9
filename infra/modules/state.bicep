// The app's state that must hold across instances and stamps: the tables of per-user quotas and
// conversations, in one account that every stamp reaches with its own identity
// (CHAT_STORAGE_TABLE_ENDPOINT). Shared keys are off.
//
// One shared, geo-redundant store rather than one per stamp (infra/README.md, "Shared state"): with
// priority routing the secondary stamp only serves while the primary is out, a user's history stays
// in one place, and a quota stays one quota. The price is that the store lives in one region at a
// time: while that region is out, chats still run (the quota module counts per instance, DESIGN.md
// section 8) and conversations wait for the region or for a customer-initiated failover.

import { identityRef, tagMap } from 'types.bicep'

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

@description('Every stamp\'s user-assigned identity (its resource group and name), each granted Storage Table Data Contributor.')
param appIdentities identityRef[]

@description('Resource id of the Log Analytics workspace that receives this module\'s diagnostic logs and metrics.')
param logAnalyticsId string

// Read, write and delete entities (and tables) with Entra ID: what shared/quota needs, no more. It
// does not include Storage Table Data Owner's management of access policies.
var storageTableDataContributor = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
)

// Looked up by name so role assignment names are known before the identities exist (what-if).
resource identities 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = [
  for ref in appIdentities: {
    name: ref.name
    scope: resourceGroup(ref.resourceGroup)
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

// Every read and write of the quotas and conversations (who, when, status) in the primary stamp's
// Log Analytics, beside the account's transaction metrics.
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsId
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account::tableService
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource appsUseTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (ref, i) in appIdentities: {
    name: guid(account.id, identities[i].id, storageTableDataContributor)
    scope: account
    properties: {
      roleDefinitionId: storageTableDataContributor
      principalId: identities[i].properties.principalId
      principalType: 'ServicePrincipal'
      description: 'Per-user quotas and conversations in Table Storage, identity-based (CHAT_STORAGE_TABLE_ENDPOINT).'
    }
  }
]

@description('Table service endpoint, for CHAT_STORAGE_TABLE_ENDPOINT (e.g. https://<account>.table.core.windows.net/).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Storage account name.')
output name string = account.name
