/**
 * The Table Storage client of the quota store, in a module of its own: it is the only one that loads the
 * Table Storage and identity SDKs, and {@link TableCounters} loads it on the first store call, so neither
 * SDK is loaded when the app's entry is imported (its import time is a benchmark goal).
 */
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { QuotaStoreSetting } from './settings';

/**
 * The TableClient for the configured store: a connection string (Azurite, development), or the table
 * endpoint with a token credential (managed identity in Azure: pass the app's one memoised credential).
 * The SDK's retries are off: one layer decides, and a store that does not answer at once is treated as out.
 */
let processCredential: TokenCredential | undefined;

export function createQuotaTableClient(
  store: Exclude<QuotaStoreSetting, { kind: 'none' }>,
  table: string,
  credential?: TokenCredential,
): TableClient {
  const retryOptions = { maxRetries: 0 };
  if (store.kind === 'connection-string') {
    const insecure = /DefaultEndpointsProtocol=http;|UseDevelopmentStorage=true|TableEndpoint=http:/i.test(
      store.connectionString,
    );
    return TableClient.fromConnectionString(store.connectionString, table, {
      retryOptions,
      allowInsecureConnection: insecure,
    });
  }
  // Without a credential given, the process's one DefaultAzureCredential (the managed identity in Azure, az
  // login locally), shared by the quota and conversation stores so their tokens are fetched and cached once.
  return new TableClient(store.endpoint, table, credential ?? (processCredential ??= new DefaultAzureCredential()), {
    retryOptions,
    allowInsecureConnection: store.endpoint.startsWith('http:'),
  });
}
