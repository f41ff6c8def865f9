/**
 * Windowed counters in Azure Table Storage, shared by every instance of the app.
 *
 * One row per counter: `{ PartitionKey, RowKey, window, value }`, `value` an Int64. A row whose `window`
 * is older than the one asked about counts as 0 and is overwritten, so each user has a fixed, small
 * number of rows (no row per minute piling up). Every write is conditional: a new row with
 * `createEntity` (409 if another instance created it first), an existing one with `updateEntity(...,
 * 'Replace', { etag })` (412 if another instance changed it since it was read). Either way the add is
 * read again and retried, a bounded number of times with jitter, so no increment is lost.
 *
 * Each store call has a short timeout (default 300 ms): a slow store must never hold a chat. The SDK's
 * own retries are off ({@link quotaTableClient}): the quota service falls back instead of waiting.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { ContentionError, type AddResult, type CounterKey, type Counters } from './counters';
import type { QuotaStoreSetting } from './settings';

export interface TableCountersOptions {
  /** The store's client, or its promise ({@link quotaTableClient} loads the SDK on first use). */
  readonly client: TableClient | Promise<TableClient>;
  /** Time allowed for each store call, ms (default 300). */
  readonly timeoutMs?: number;
  /** Conditional writes tried per add before giving up with a ContentionError (default 12). */
  readonly maxAttempts?: number;
  /** Random numbers in [0, 1) for the jitter between attempts (default Math.random). */
  readonly random?: () => number;
}

interface CounterRow {
  readonly window: string;
  readonly value: number;
  readonly etag: string;
}

export class TableCounters implements Counters {
  readonly #client: Promise<TableClient>;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #random: () => number;
  /** The last add queued per counter (`partitionKey \u0000 rowKey`) on this instance. */
  readonly #queues = new Map<string, Promise<AddResult>>();

  constructor(options: TableCountersOptions) {
    this.#client = Promise.resolve(options.client);
    // A client that could not be built fails each store call instead (which degrades), never the process.
    this.#client.catch(() => undefined);
    this.#timeoutMs = options.timeoutMs ?? 300;
    this.#maxAttempts = options.maxAttempts ?? 12;
    this.#random = options.random ?? Math.random;
  }

  async read(key: CounterKey, window: string): Promise<number> {
    const row = await this.#get(key);
    return row?.window === window ? row.value : 0;
  }

  /**
   * Adds to a counter. Adds to one counter from this instance run one after another (ETags settle the
   * race between instances; racing this instance's own requests would only multiply 412s). If the one
   * before failed for any reason but contention, this one fails at once with the same error rather
   * than wait its turn against a store that is out.
   */
  add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    const id = `${key.partitionKey}\u0000${key.rowKey}`;
    const previous = this.#queues.get(id);
    const run = async (): Promise<AddResult> => {
      const failure = await previous?.then(
        () => undefined,
        (error: unknown) => (error instanceof ContentionError ? undefined : { error }),
      );
      if (failure) throw failure.error;
      return this.#add(key, window, amount, limit);
    };
    const next = run();
    this.#queues.set(id, next);
    // Forget the queue once it is empty, so the map holds only keys with adds in flight.
    const forget = () => {
      if (this.#queues.get(id) === next) this.#queues.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  async #add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const row = await this.#get(key);
      const current = row?.window === window ? row.value : 0;
      if (limit !== undefined && current + amount > limit) return { kind: 'over-limit', value: current };
      if (await this.#write(key, window, current + amount, row?.etag))
        return { kind: 'added', value: current + amount };
      await this.#backOff(attempt);
    }
    throw new ContentionError(key, this.#maxAttempts);
  }

  /** Writes the row if nobody changed it since it was read (`etag`) or created it meanwhile; false if someone did. */
  async #write(key: CounterKey, window: string, value: number, etag: string | undefined): Promise<boolean> {
    const entity = { partitionKey: key.partitionKey, rowKey: key.rowKey, window, value: BigInt(value) };
    const client = await this.#client;
    const put = () =>
      etag === undefined
        ? client.createEntity(entity, this.#callOptions())
        : client.updateEntity(entity, 'Replace', { etag, ...this.#callOptions() });
    try {
      await put();
      return true;
    } catch (error) {
      if (statusOf(error) !== 404) return conflict(error);
    }
    // 404: no table yet (Azurite's first run; in Azure the Bicep template made it), or the row was
    // deleted since it was read. Create the table (a no-op when it exists); a new row is then written
    // at once (a missing table is no race lost), a vanished one is read again.
    await (await this.#client).createTable(this.#callOptions());
    if (etag !== undefined) return false;
    try {
      await put();
      return true;
    } catch (error) {
      return conflict(error);
    }
  }

  async #get(key: CounterKey): Promise<CounterRow | undefined> {
    let entity: TableEntityResult<Record<string, unknown>>;
    try {
      entity = await (await this.#client).getEntity(key.partitionKey, key.rowKey, this.#callOptions());
    } catch (error) {
      // No such row, or no table yet: either way nothing counted (the first write creates the table).
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    return { window: String(entity.window), value: Number(entity.value ?? 0), etag: entity.etag };
  }

  /** Full jitter, 0 to 5·2^attempt ms capped at 200 ms: spreads the instances that lost the race. */
  async #backOff(attempt: number): Promise<void> {
    const ms = this.#random() * Math.min(200, 5 * 2 ** attempt);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  #callOptions(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#timeoutMs) };
  }
}

/** False when the write lost the race (409 created meanwhile, 412 changed meanwhile); anything else is thrown. */
function conflict(error: unknown): false {
  const status = statusOf(error);
  if (status === 409 || status === 412) return false;
  throw error;
}

/** The HTTP status of the SDK's RestError, read by shape (the SDK is loaded only with the client). */
export function statusOf(error: unknown): number | undefined {
  const { name, statusCode } = (error ?? {}) as { name?: unknown; statusCode?: unknown };
  return name === 'RestError' && typeof statusCode === 'number' ? statusCode : undefined;
}

/** The quota store's TableClient, its module (and the SDKs) loaded on this first call. */
export async function quotaTableClient(
  store: Exclude<QuotaStoreSetting, { kind: 'none' }>,
  table: string,
  credential?: TokenCredential,
): Promise<TableClient> {
  return (await import('./table-client.js')).createQuotaTableClient(store, table, credential);
}
