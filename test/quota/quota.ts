/** Helpers for the quota tests: services on a real TableClient against the file's Azurite, a recording logger. */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/logger';
import { QuotaService, TableCounters, quotaSettings, quotaTableClient, type QuotaLimits } from '../../shared/quota';
import type { Caller } from '../../shared/quota/windows';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly properties?: Record<string, unknown>;
}

export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = (level: LogLine['level']) => (message: string, properties?: Record<string, unknown>) => {
    lines.push({ level, message, properties });
  };
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

export const LIMITS: QuotaLimits = { userRequestsPerMinute: 20, userTokensPerDay: 1_000, globalTokensPerMinute: 0 };

/** One "app instance": its own TableClient (as a separate Function App instance has) and its own memory. */
export function instance(
  connectionString: string,
  options: { limits?: Partial<QuotaLimits>; table?: string; random?: () => number; logger?: Logger } = {},
): QuotaService & { readonly log: ReturnType<typeof recordingLogger> } {
  const settings = quotaSettings({ CHAT_STORAGE_CONNECTION_STRING: connectionString });
  if (settings.store.kind !== 'connection-string') throw new Error('expected a connection string');
  const client = quotaTableClient(settings.store, options.table ?? 'quotas');
  const log = recordingLogger();
  const service = new QuotaService({
    limits: { ...LIMITS, ...options.limits },
    store: new TableCounters({ client, timeoutMs: 2_000 }),
    logger: options.logger ?? log,
    random: options.random,
  });
  return Object.assign(service, { log });
}

/** A user no other test touches. */
export function newUser(): Caller {
  return { kind: 'user', id: `${randomUUID()}:${randomUUID()}` };
}

/** Admits and reports what came of it: 'ok' or the error code. */
export async function outcome(service: QuotaService, caller: Caller, now: number): Promise<string> {
  try {
    await service.admit(caller, now);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

export const NOON = Date.parse('2025-06-01T12:34:10.000Z');
