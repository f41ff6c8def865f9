// Azure Front Door (Standard), part two: one origin group with a Function App per stamp by priority
// (the primary gets everything while healthy), its health probe, and the route for the API.

@description('Front Door profile name (created by frontdoor.bicep).')
param profileName string

@description('Endpoint name (created by frontdoor.bicep).')
param endpointName string

@description('Default host names of the stamps\' Function Apps, in priority order (the first is the primary).')
@minLength(1)
param originHostNames string[]

@description('Seconds between probes from each Front Door edge.')
@minValue(5)
@maxValue(255)
param probeIntervalSeconds int

resource profile 'Microsoft.Cdn/profiles@2025-06-01' existing = {
  name: profileName

  resource endpoint 'afdEndpoints' existing = {
    name: endpointName
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2025-06-01' = {
  parent: profile
  name: 'stamps'
  properties: {
    // /api/health answers 503 when none of the stamp's regions can serve (each failed its breaker or a cheap
    // real check: endpoint, credential, a one-token completion, at most once per 15 s per instance and region)
    // and 200 otherwise, so a recovered stamp comes back with no chat traffic. GET: the function takes GET only.
    healthProbeSettings: {
      probePath: '/api/health'
      probeRequestType: 'GET'
      probeProtocol: 'Https'
      probeIntervalInSeconds: probeIntervalSeconds
    }
    // Front Door counts an origin healthy while at least successfulSamplesRequired of its last sampleSize probes
    // answered 200 (https://learn.microsoft.com/azure/frontdoor/health-probes). With the default 20 s interval:
    // failover after 3 failed probes (sampleSize - successfulSamplesRequired + 1), 40-60 s from the stamp's first
    // 503; failback after 2 good probes, 20-40 s from its first 200 (plus up to one breaker cool-down, 30 s, for
    // the stamp to try its regions again). So about a minute each way, and one failed probe alone moves nothing.
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 2
      additionalLatencyInMilliseconds: 50
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origins 'Microsoft.Cdn/profiles/originGroups/origins@2025-06-01' = [
  for (hostName, i) in originHostNames: {
    parent: originGroup
    name: 'stamp-${i + 1}'
    properties: {
      hostName: hostName
      // App Service routes by host name: send the app's own.
      originHostHeader: hostName
      httpPort: 80
      httpsPort: 443
      // Priority routing: the primary (1) takes all traffic while healthy; the others (2) share it
      // only while the primary is not.
      priority: i == 0 ? 1 : 2
      weight: 1000
      enabledState: 'Enabled'
      enforceCertificateNameCheck: true
    }
  }
]

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2025-06-01' = {
  parent: profile::endpoint
  name: 'api'
  properties: {
    originGroup: { id: originGroup.id }
    // HTTPS only, end to end: plain HTTP is not served (not redirected: a redirected POST loses its body).
    supportedProtocols: ['Https']
    httpsRedirect: 'Disabled'
    forwardingProtocol: 'HttpsOnly'
    patternsToMatch: ['/api/*']
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    // No cacheConfiguration: nothing is cached, every answer is per user.
  }
  // A route needs an origin group that has origins.
  dependsOn: [origins]
}

@description('Origin group id.')
output originGroupId string = originGroup.id
