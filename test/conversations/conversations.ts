/** Helpers for the conversation tests: a service on a real TableClient against the file's Azurite. */
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import type { Caller } from '../../shared/auth/caller';
import {
  CONVERSATION_DEFAULTS,
  ConversationService,
  ConversationTable,
  conversationSettings,
  type ConversationLimits,
} from '../../shared/conversations';
import { quotaTableClient } from '../../shared/quota';
import { recordingLogger } from '../quota/quota';

export const TABLE = 'conversations';

/** One "app instance": its own TableClient and service. */
export function conversations(
  connectionString: string,
  options: { limits?: Partial<ConversationLimits>; now?: () => number; timeoutMs?: number } = {},
): ConversationService & { readonly log: ReturnType<typeof recordingLogger> } {
  const settings = conversationSettings({ CHAT_STORAGE_CONNECTION_STRING: connectionString });
  if (settings.store.kind !== 'connection-string') throw new Error('expected a connection string');
  const table = new ConversationTable({
    client: quotaTableClient(settings.store, TABLE),
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const log = recordingLogger();
  const service = new ConversationService({
    limits: { ...CONVERSATION_DEFAULTS, ...options.limits },
    table,
    logger: log,
    ...(options.now ? { now: options.now } : {}),
  });
  return Object.assign(service, { log });
}

/** A user no other test touches. */
export function newUser(): Caller {
  return { kind: 'user', id: `${randomUUID()}:${randomUUID()}` };
}

/** Every row of the table in a partition, read with a client of its own (what "really deleted" is checked against). */
export async function rowsOf(connectionString: string, partition: string): Promise<string[]> {
  const client = TableClient.fromConnectionString(connectionString, TABLE, { allowInsecureConnection: true });
  const keys: string[] = [];
  const filter = `PartitionKey eq '${partition.replace(/'/g, "''")}'`;
  try {
    for await (const row of client.listEntities({ queryOptions: { filter } })) keys.push(row.rowKey ?? '');
  } catch (error) {
    // No table yet (this test ran first): no rows.
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  return keys;
}
