using 'main.bicep'

// Values for a typical environment. Override per environment on the command line, e.g.
//   scripts/infra/deploy.sh --env prod --two-stamps
// or copy this file (main.prod.bicepparam) and pass --parameters.

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'chat-dev')
param primaryLocation = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param secondaryLocation = readEnvironmentVariable('AZURE_SECONDARY_LOCATION', 'swedencentral')

// One stamp (false) or two stamps behind Front Door (true); `azd env set CHAT_TWO_STAMPS true`.
param twoStamps = bool(readEnvironmentVariable('CHAT_TWO_STAMPS', 'false'))

// GlobalStandard: pay per token, routed across Azure's global capacity; capacity is in thousands of
// tokens per minute and draws on the subscription's per-region quota for the model. Versions are
// pinned here and checked before every deployment (scripts/infra/preflight.sh: deployable in both
// regions, quota left); when Azure retires one, the preflight names the versions it offers instead.
param models = [
  {
    modelName: 'gpt-5.2'
    modelVersion: '2025-12-11'
    deploymentName: 'gpt-5.2'
    skuName: 'GlobalStandard'
    capacity: 10
  }
  {
    modelName: 'gpt-5-mini'
    modelVersion: '2025-08-07'
    deploymentName: 'gpt-5-mini'
    skuName: 'GlobalStandard'
    capacity: 10
  }
]

// Off: the accounts take Entra ID tokens only; the Function App never needs a key. Set true (or
// CHAT_OPENAI_KEYS=true) only to run locally with keys read from Key Vault (CHAT_AUTH_MODE=key-vault);
// with it off, a local run uses your az login instead (CHAT_AUTH_MODE=managed-identity).
param openAiLocalAuthEnabled = bool(readEnvironmentVariable('CHAT_OPENAI_KEYS', 'false'))

param corsAllowedOrigins = []

// Developer access for local runs goes to whoever deploys (deployer(): a user or a service
// principal, with deploy.sh or azd alike); set developerPrincipalId for someone else, or
// grantDeveloperAccess = false for nobody.
param grantDeveloperAccess = true

// The app registration users sign in to (infra/README.md, "App registration"); empty for none yet.
param authClientId = readEnvironmentVariable('CHAT_AUTH_CLIENT_ID', '')
param webClientId = readEnvironmentVariable('CHAT_WEB_CLIENT_ID', '')

// Signs the Responses API ids each caller is given. Empty: a new one at each deployment (ids given out
// before it answer 404 after it); set CHAT_RESPONSE_ID_SECRET (32+ characters) to keep one.
param responseIdSecret = readEnvironmentVariable('CHAT_RESPONSE_ID_SECRET', '')

// Keys for server-to-server callers (CHAT_SERVICE_KEYS: keys, or a Key Vault reference); empty for none. The
// app checks them wherever OpenAI SDKs put them (Authorization: Bearer, api-key).
param serviceKeys = readEnvironmentVariable('CHAT_SERVICE_KEYS', '')

param functionInstanceMemoryMB = 2048
param functionMaximumInstanceCount = 100
