// One stamp's alerts, each notifying the action group given (none: they fire in the portal only):
//   - every region failing: the app's AllRegionsFailed custom event (a chat found no region to serve it),
//   - the stamp's 5xx rate (Http5xx of the Function App),
//   - Azure OpenAI throttling: 429s of an account, its quota used up (watched from the primary stamp).

import { tagMap } from 'types.bicep'

@description('Function App name, to name the alerts after the stamp.')
param stampName string

@description('Tags for the alert rules.')
param tags tagMap

@description('Region of the log alert rule (the stamp\'s).')
param location string

@description('Application Insights component of the stamp.')
param appInsightsId string

@description('Function App of the stamp.')
param functionAppId string

@description('Azure OpenAI accounts whose throttling this stamp\'s group watches; empty for none.')
param openAiAccountIds string[]

@description('Action group to notify; empty: none.')
param actionGroupId string

@description('5xx answers in 5 minutes above which the stamp alerts.')
param http5xxThreshold int

@description('429 answers of one account in 5 minutes above which it alerts.')
param throttledThreshold int

var actionGroups = empty(actionGroupId) ? [] : [actionGroupId]
var metricActions = empty(actionGroupId) ? [] : [{ actionGroupId: actionGroupId }]

resource allRegionsFailed 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'all-regions-failed-${stampName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Every Azure OpenAI region failed (${stampName})'
    description: 'A chat found no region able to answer (customEvents AllRegionsFailed): both regions down, throttled or refusing the stamp\'s identity.'
    severity: 1
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'customEvents | where name == "AllRegionsFailed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroups }
  }
}

resource http5xx 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'http-5xx-${stampName}'
  location: 'global'
  tags: tags
  properties: {
    description: 'The stamp answered more than ${http5xxThreshold} 5xx in 5 minutes.'
    severity: 2
    enabled: true
    scopes: [functionAppId]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'Http5xx'
          metricNamespace: 'Microsoft.Web/sites'
          metricName: 'Http5xx'
          operator: 'GreaterThan'
          threshold: http5xxThreshold
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: metricActions
  }
}

resource throttled 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for (accountId, i) in openAiAccountIds: {
    name: 'openai-throttled-${last(split(accountId, '/'))}'
    location: 'global'
    tags: tags
    properties: {
      description: 'Azure OpenAI answered more than ${throttledThreshold} requests with 429 in 5 minutes: its tokens-per-minute quota is used up; raise capacity or quota.'
      severity: 2
      enabled: true
      scopes: [accountId]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'Throttled'
            metricNamespace: 'Microsoft.CognitiveServices/accounts'
            metricName: 'AzureOpenAIRequests'
            dimensions: [
              {
                name: 'StatusCode'
                operator: 'Include'
                values: ['429']
              }
            ]
            operator: 'GreaterThan'
            threshold: throttledThreshold
            timeAggregation: 'Total'
          }
        ]
      }
      autoMitigate: true
      actions: metricActions
    }
  }
]
