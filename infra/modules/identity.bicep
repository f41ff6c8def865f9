// The Function App's identity. User-assigned rather than system-assigned so that it exists, and its
// role assignments can be made, before the Function App does: the app's first start then already has
// access to storage, Azure OpenAI and Application Insights.

import { tagMap } from 'types.bicep'

@description('Identity name.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags for the identity.')
param tags tagMap

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, for the Function App identity block and Flex deployment storage.')
output id string = identity.id

@description('Client (application) id: AZURE_CLIENT_ID for DefaultAzureCredential / ManagedIdentityCredential.')
output clientId string = identity.properties.clientId

@description('Object (principal) id, the subject of role assignments.')
output principalId string = identity.properties.principalId
