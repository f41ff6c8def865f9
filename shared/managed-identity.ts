/**
 * The app's managed identity as an @azure/identity credential: one factory for the model calls
 * (credentials.ts) and Entra ID telemetry ingestion (telemetry/azure-monitor.ts). Loads
 * @azure/identity, so credentials.ts imports this module only when managed identity is the mode.
 */
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

/** System-assigned without a client id; the user-assigned identity with that client id (AZURE_CLIENT_ID) otherwise. */
export function managedIdentityCredential(clientId?: string): TokenCredential {
  return new ManagedIdentityCredential(clientId === undefined ? {} : { clientId });
}
