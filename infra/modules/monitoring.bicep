// Log Analytics + workspace-based Application Insights with local (instrumentation key) auth
// disabled: ingestion needs an Entra token from an identity holding Monitoring Metrics Publisher,
// which the Function App gets below (APPLICATIONINSIGHTS_AUTHENTICATION_STRING names its client id).

import { tagMap } from 'types.bicep'

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param appInsightsName string

@description('Azure region of both resources.')
param location string

@description('Tags for both resources.')
param tags tagMap

@description('Name of the Function App\'s user-assigned identity (in this resource group), granted Monitoring Metrics Publisher.')
param appIdentityName string

// Monitoring Metrics Publisher: lets an Entra identity send telemetry to a component with DisableLocalAuth.
var monitoringMetricsPublisher = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '3913510d-42f4-4e42-8a64-420c390055eb'
)

// The identity is looked up by name, not passed in as a principal id: a principal id only exists
// once the identity does, and a runtime value in a role assignment name defeats what-if. Its
// resource id stands for the principal in the assignment name instead.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource appPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appIdentity.id, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: monitoringMetricsPublisher
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Function App sends telemetry with Entra ID (local auth is disabled).'
  }
}

@description('APPLICATIONINSIGHTS_CONNECTION_STRING. Not a secret on its own: with local auth disabled, ingestion also needs an Entra token.')
output connectionString string = appInsights.properties.ConnectionString

@description('Application Insights resource name.')
output appInsightsName string = appInsights.name

@description('Application Insights resource id (the log alerts query it).')
output appInsightsId string = appInsights.id

@description('Log Analytics workspace id: every diagnostic setting of the stamp sends there.')
output workspaceId string = workspace.id
