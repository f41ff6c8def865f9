/**
 * Per-user quotas shared by every instance. The chat path calls `reserve(caller, estimate)` before a model
 * call and the reservation's `settle(tokens)` when the answer ends, however it ends; health shows `state()`.
 * See service.ts for the storage layout and how a store outage degrades.
 */
import type { TokenCredential } from '@azure/identity';
import type { Logger } from '../logger';
import { QuotaService } from './service';
import type { QuotaSettings } from './settings';
import { TableCounters, quotaTableClient } from './table-counters';

export {
  ContentionError,
  MemoryCounters,
  type AddResult,
  type CounterKey,
  type CounterRead,
  type Counters,
} from './counters';
export {
  QuotaService,
  type Admitted,
  type QuotaLimits,
  type QuotaServiceOptions,
  type QuotaStoreState,
  type Reservation,
} from './service';
export { QUOTA_DEFAULTS, quotaSettings, type QuotaSettings, type QuotaStoreSetting } from './settings';
export { DEFAULT_STORE_TIMEOUT_MS, TableCounters, quotaTableClient, type TableCountersOptions } from './table-counters';
export { escapeKey, partitionKey, type Caller } from './windows';

export interface CreateQuotaServiceOptions {
  readonly settings: QuotaSettings;
  readonly logger: Logger;
  /** A credential for `CHAT_STORAGE_TABLE_ENDPOINT` (default: the process's one DefaultAzureCredential). */
  readonly credential?: TokenCredential;
  /** Time allowed for each store call, ms (default 2 000: see DEFAULT_STORE_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** The production wiring: Table Storage when a store is configured, this instance's memory when not. */
export function createQuotaService(options: CreateQuotaServiceOptions): QuotaService {
  const { settings } = options;
  const store =
    settings.store.kind === 'none'
      ? undefined
      : new TableCounters({
          client: quotaTableClient(settings.store, settings.table, options.credential),
          timeoutMs: options.timeoutMs,
        });
  if (!store)
    options.logger.warn(
      'quota: no CHAT_STORAGE_CONNECTION_STRING or CHAT_STORAGE_TABLE_ENDPOINT; limits hold per instance only',
    );
  return new QuotaService({ limits: settings, store, logger: options.logger });
}
