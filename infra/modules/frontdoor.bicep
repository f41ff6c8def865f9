// Azure Front Door (Standard) in front of the stamps, part one: the profile, its endpoint and the WAF
// policy attached to it. The origins and the route come in frontdoor-origins.bicep, after the
// Function Apps: each app admits only this profile's traffic (X-Azure-FDID = frontDoorId), so the
// profile must exist before the apps, and the apps before the origins that name their host names.

import { tagMap } from 'types.bicep'

@description('Front Door profile name.')
param profileName string

@description('Endpoint name; its host name is <name>-<hash>.z01.azurefd.net.')
param endpointName string

@description('WAF policy name (letters and digits, starting with a letter).')
param wafPolicyName string

@description('Tags for the profile, endpoint and policy.')
param tags tagMap

@description('Requests one client IP may send per minute before the WAF blocks it for the rest of the minute.')
@minValue(10)
param rateLimitPerMinute int

@description('Resource id of the Log Analytics workspace that receives this module\'s diagnostic logs and metrics.')
param logAnalyticsId string

resource profile 'Microsoft.Cdn/profiles@2025-06-01' = {
  name: profileName
  location: 'global'
  tags: tags
  sku: { name: 'Standard_AzureFrontDoor' }
  properties: {
    // The most Standard allows. A streamed answer sends its first bytes within seconds (heartbeats
    // keep it going), and the backend's own deadline per request is below the 230 s of Functions.
    originResponseTimeoutSeconds: 240
  }
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2025-06-01' = {
  parent: profile
  name: endpointName
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

// Standard has custom rules only (managed rule sets need Premium): a rate limit per client IP, the
// coarse first line before the per-user quotas, which need a signed-in user and a table write.
resource wafPolicy 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies@2025-03-01' = {
  name: wafPolicyName
  location: 'global'
  tags: tags
  sku: { name: 'Standard_AzureFrontDoor' }
  properties: {
    policySettings: {
      enabledState: 'Enabled'
      mode: 'Prevention'
      customBlockResponseStatusCode: 429
    }
    customRules: {
      rules: [
        {
          name: 'RateLimitPerClientIp'
          priority: 100
          enabledState: 'Enabled'
          ruleType: 'RateLimitRule'
          rateLimitDurationInMinutes: 1
          rateLimitThreshold: rateLimitPerMinute
          // Counted per socket address (the client as Front Door sees it; X-Forwarded-For can be forged).
          groupBy: [{ variableName: 'SocketAddr' }]
          matchConditions: [
            {
              matchVariable: 'RequestUri'
              operator: 'Any'
              matchValue: []
            }
          ]
          action: 'Block'
        }
      ]
    }
  }
}

resource securityPolicy 'Microsoft.Cdn/profiles/securityPolicies@2025-06-01' = {
  parent: profile
  name: 'waf'
  properties: {
    parameters: {
      type: 'WebApplicationFirewall'
      wafPolicy: { id: wafPolicy.id }
      associations: [
        {
          domains: [{ id: endpoint.id }]
          patternsToMatch: ['/*']
        }
      ]
    }
  }
}

// Access, health probe and WAF logs (FrontDoorAccessLog, FrontDoorHealthProbeLog,
// FrontDoorWebApplicationFirewallLog) and metrics in the primary stamp's Log Analytics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: profile
  properties: {
    workspaceId: logAnalyticsId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

@description('The profile\'s id as Front Door sends it in X-Azure-FDID; the Function Apps admit only it.')
output frontDoorId string = profile.properties.frontDoorId

@description('Endpoint URL, e.g. https://api-abc-hash.z01.azurefd.net.')
output url string = 'https://${endpoint.properties.hostName}'
