using 'main.bicep'

// Values for a typical environment. Override per environment on the command line, e.g.
//   scripts/infra/deploy.sh --env prod   (sets environmentName)
// or copy this file (main.prod.bicepparam) and pass --parameters-file.

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'chat-dev')
param primaryLocation = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param secondaryLocation = readEnvironmentVariable('AZURE_SECONDARY_LOCATION', 'swedencentral')

// GlobalStandard: pay per token, routed across Azure's global capacity; capacity is in thousands of
// tokens per minute and draws on the subscription's per-region quota for the model.
param models = [
  {
    modelName: 'gpt-4o'
    modelVersion: '2024-11-20'
    deploymentName: 'gpt-4o'
    skuName: 'GlobalStandard'
    capacity: 10
  }
  {
    modelName: 'gpt-4o-mini'
    modelVersion: '2024-07-18'
    deploymentName: 'gpt-4o-mini'
    skuName: 'GlobalStandard'
    capacity: 10
  }
]

// On so a developer can run locally with the key from Key Vault (CHAT_AUTH_MODE=key-vault). The
// Function App itself never uses a key. Set false for Entra-ID-only accounts.
param openAiLocalAuthEnabled = true

param corsAllowedOrigins = []

// Object id of the developer to grant access (az ad signed-in-user show --query id -o tsv).
param developerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

// The app registration users sign in to (infra/README.md, "App registration"); empty for none yet.
param authClientId = readEnvironmentVariable('CHAT_AUTH_CLIENT_ID', '')

param functionInstanceMemoryMB = 2048
param functionMaximumInstanceCount = 100
