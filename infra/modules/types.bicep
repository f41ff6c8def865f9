// Types shared by main.bicep and its modules.

@export()
@description('Resource tags: name -> value.')
type tagMap = {
  *: string
}

@export()
@description('Model name -> deployment name.')
type deploymentMap = {
  *: string
}

@export()
@description('One model deployed in every region. The backend maps modelName (what clients ask for) to deploymentName (what Azure routes by).')
type modelDeployment = {
  @description('Model name clients ask for, as Azure OpenAI names it, e.g. gpt-5.4.')
  modelName: string

  @description('Model version, e.g. 2026-03-05.')
  modelVersion: string

  @description('Deployment name in each account; letters, digits, dot, dash, underscore.')
  @minLength(2)
  @maxLength(64)
  deploymentName: string

  @description('Deployment SKU: GlobalStandard (global routing, pay per token), Standard (regional, pay per token) or DataZoneStandard.')
  skuName: 'GlobalStandard' | 'Standard' | 'DataZoneStandard'

  @description('Capacity in thousands of tokens per minute (10 = 10K TPM).')
  @minValue(1)
  capacity: int
}

@export()
@description('A user-assigned identity by resource group and name, looked up where it lives.')
type identityRef = {
  @description('Resource group of the identity.')
  resourceGroup: string

  @description('Identity name.')
  name: string
}

@export()
@description('One Azure OpenAI region as the backend reads it from CHAT_REGIONS (see shared/config.ts).')
type chatRegion = {
  @description('Azure region name, e.g. eastus2.')
  name: string

  @description('Account endpoint, e.g. https://oai-abc-eastus2.openai.azure.com/.')
  endpoint: string

  @description('Model name -> deployment name.')
  deployments: deploymentMap

  @description('Key Vault secret holding the account key; only when local (key) auth is enabled.')
  keySecretName: string?
}
