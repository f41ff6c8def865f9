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
// pinned here and checked before every deployment (scripts/infra/preflight.sh: offered in both
// regions, generally available, not retiring within 60 days, quota left). Chosen from the Azure
// OpenAI retirement schedule and the Global Standard availability table, checked 2026-12-07:
// gpt-5.4 2026-03-05 and gpt-5.4-mini 2026-03-17 are GA in eastus2 and swedencentral, closed to new
// customers no earlier than March 2027, retired no earlier than September 2027. (gpt-5.2 2025-12-11
// closes on 2026-12-12 and gpt-5-mini 2025-08-07 closed on 2026-08-07, both with no successor.)
// https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements
// https://learn.microsoft.com/azure/ai-foundry/openai/concepts/models#model-summary-table-and-region-availability
param models = [
  {
    modelName: 'gpt-5.4'
    modelVersion: '2026-03-05'
    deploymentName: 'gpt-5.4'
    skuName: 'GlobalStandard'
    capacity: 10
  }
  {
    modelName: 'gpt-5.4-mini'
    modelVersion: '2026-03-17'
    deploymentName: 'gpt-5.4-mini'
    skuName: 'GlobalStandard'
    capacity: 10
  }
]

// Off: the accounts take Entra ID tokens only; the Function App never needs a key. Set true (or
// CHAT_OPENAI_KEYS=true) only to run locally with keys read from Key Vault (CHAT_AUTH_MODE=key-vault);
// with it off, a local run uses your az login instead (CHAT_AUTH_MODE=managed-identity).
param openAiLocalAuthEnabled = bool(readEnvironmentVariable('CHAT_OPENAI_KEYS', 'false'))

param corsAllowedOrigins = []

// Developer access for local runs (Cognitive Services OpenAI User on each account): nobody by
// default, so a CI principal that deploys does not become a model caller. scripts/infra/deploy.sh
// --grant-developer-access gives it to whoever deploys (deployer()), --developer-principal-id (and
// --developer-principal-type) to someone else.
param grantDeveloperAccess = bool(readEnvironmentVariable('CHAT_GRANT_DEVELOPER_ACCESS', 'false'))

// The app registrations users sign in with: scripts/infra/deploy.sh creates or reuses them and
// passes their ids (infra/README.md, "App registration"); empty for none.
param authClientId = readEnvironmentVariable('CHAT_AUTH_CLIENT_ID', '')
param webClientId = readEnvironmentVariable('CHAT_WEB_CLIENT_ID', '')

// CHAT_RESPONSE_ID_SECRET and CHAT_SERVICE_KEYS are Key Vault references to secrets deploy.sh makes
// once (newResponseIdSecret, newServiceKeys): nothing here.

param functionInstanceMemoryMB = 2048
param functionMaximumInstanceCount = 100
param functionAlwaysReadyInstances = 0
param zoneRedundant = false
param alertActionGroupId = readEnvironmentVariable('CHAT_ALERT_ACTION_GROUP_ID', '')
