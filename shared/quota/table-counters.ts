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
 * An add needs the row as it stands (its value and ETag), but not necessarily a read of its own:
 * `readForUpdate` reads several rows of one partition with one query and keeps each (bounded, oldest
 * dropped first); the next add of such a row writes on it at once. A row changed since it was read fails
 * that write with 412 (409 for a row created meanwhile) and is read again, as any lost race is, so the
 * kept row saves a round trip and never an ETag check. A chat's quota check is then four store calls:
 * the query of the user's two rows and the minute's write (admit), then the day's reservation and its settle.
 *
 * Each store call has a timeout (default 2 s, {@link DEFAULT_STORE_TIMEOUT_MS}): a store that does not answer in it
 * is treated as out. The SDK's
 * own retries are off ({@link quotaTableClient}): the quota service falls back instead of waiting.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { ContentionError, type AddResult, type CounterKey, type CounterRead, type Counters } from './counters';
import type { QuotaStoreSetting } from './settings';

export interface TableCountersOptions {
  /** The store's client, or its promise ({@link quotaTableClient} loads the SDK on first use). */
  readonly client: TableClient | Promise<TableClient>;
  /** Time allowed for each store call, ms (default {@link DEFAULT_STORE_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Conditional writes tried per add before giving up with a ContentionError (default 12). */
  readonly maxAttempts?: number;
  /** Random numbers in [0, 1) for the jitter between attempts (default Math.random). */
  readonly random?: () => number;
  /** Rows kept from `readForUpdate` for the next add of each (default 10 000, about 2 MB). */
  readonly maxKeptRows?: number;
}

/**
 * Time allowed for each store call, ms. Table Storage publishes no latency bound ("fast, but no upper bounds on
 * latency": https://learn.microsoft.com/azure/cosmos-db/table-support), and its SLA counts a single-entity operation
 * as failed only after seconds (https://learn.microsoft.com/azure/cosmos-db/table/faq: "a 10-second SLA" against
 * Cosmos DB's 10-15 ms). Ordinary calls take tens of milliseconds from an app in the same region; 2 s lets a slow
 * moment (a partition moving, a burst at its 2,000 entities/s target) finish rather than flip the instance to its
 * own counts, and is still short beside a chat. Azurite on a loaded laptop answers in about the same range, which
 * is why the earlier 300 ms tripped under a burst of one user's requests.
 */
export const DEFAULT_STORE_TIMEOUT_MS = 2_000;

interface CounterRow {
  readonly window: string;
  readonly value: number;
  readonly etag: string;
}

/** A row as the last `readForUpdate` found it; `row` undefined: there was none. */
interface KeptRow {
  readonly row: CounterRow | undefined;
}

export class TableCounters implements Counters {
  readonly #client: Promise<TableClient>;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #random: () => number;
  /** The last add queued per counter (`partitionKey \u0000 rowKey`) on this instance. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Rows read for update, per counter, oldest first; an add takes its row out. */
  readonly #kept = new Map<string, KeptRow>();
  readonly #maxKeptRows: number;

  constructor(options: TableCountersOptions) {
    this.#client = Promise.resolve(options.client);
    // A client that could not be built fails each store call instead (which degrades), never the process.
    this.#client.catch(() => undefined);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.#maxAttempts = options.maxAttempts ?? 12;
    this.#random = options.random ?? Math.random;
    this.#maxKeptRows = options.maxKeptRows ?? 10_000;
  }

  async read(key: CounterKey, window: string): Promise<number> {
    return valueIn(await this.#get(key), window);
  }

  async readForUpdate(reads: readonly CounterRead[]): Promise<number[]> {
    const [first] = reads;
    const onePartition = first !== undefined && reads.every((r) => r.key.partitionKey === first.key.partitionKey);
    const rows =
      onePartition && reads.length > 1
        ? await this.#query(first.key.partitionKey, reads)
        : await Promise.all(reads.map((r) => this.#get(r.key)));
    return reads.map(({ key, window }, i) => {
      this.#keep(key, rows[i]);
      return valueIn(rows[i], window);
    });
  }

  /**
   * Adds to a counter. Adds to one counter from this instance run one after another (ETags settle the
   * race between instances; racing this instance's own requests would only multiply 412s). If the one
   * before failed for any reason but contention, this one fails at once with the same error rather
   * than wait its turn against a store that is out.
   */
  add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    return this.#queued(key, () => this.#add(key, window, amount, limit));
  }

  adjust(key: CounterKey, window: string, delta: number): Promise<number | undefined> {
    return this.#queued(key, () => this.#adjust(key, window, delta));
  }

  /** Runs `change` after the changes of this counter queued before it (see {@link add}). */
  #queued<T>(key: CounterKey, change: () => Promise<T>): Promise<T> {
    const id = counterId(key);
    const previous = this.#queues.get(id);
    const run = async (): Promise<T> => {
      const failure = await previous?.then(
        () => undefined,
        (error: unknown) => (error instanceof ContentionError ? undefined : { error }),
      );
      if (failure) throw failure.error;
      return change();
    };
    const next = run();
    this.#queues.set(id, next);
    // Forget the queue once it is empty, so the map holds only keys with changes in flight.
    const forget = () => {
      if (this.#queues.get(id) === next) this.#queues.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  async #adjust(key: CounterKey, window: string, delta: number): Promise<number | undefined> {
    const kept = this.#take(key);
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const row = attempt === 0 && kept ? kept.row : await this.#get(key);
      if (row !== undefined && row.window > window) return undefined;
      const value = Math.max(0, valueIn(row, window) + delta);
      if (await this.#write(key, window, value, row?.etag)) return value;
      if (attempt > 0 || !kept) await this.#backOff(attempt);
    }
    throw new ContentionError(key, this.#maxAttempts);
  }

  async #add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    // A row read for update is written on at once; if it changed since, that is no contention of this
    // add's own (it may have been read long ago): read it again without counting an attempt.
    const kept = this.#take(key);
    const early = kept && (await this.#tryAdd({ key, window, amount, limit }, kept.row));
    if (early) return early;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const result = await this.#tryAdd({ key, window, amount, limit }, await this.#get(key));
      if (result) return result;
      await this.#backOff(attempt);
    }
    throw new ContentionError(key, this.#maxAttempts);
  }

  /**
   * One conditional add on `row` as read: refused when over the limit (values only grow within a window,
   * so a row read earlier can only be below the count as it stands), undefined when the write lost a race.
   */
  async #tryAdd(
    add: { readonly key: CounterKey; readonly window: string; readonly amount: number; readonly limit?: number },
    row: CounterRow | undefined,
  ): Promise<AddResult | undefined> {
    const current = valueIn(row, add.window);
    if (add.limit !== undefined && current + add.amount > add.limit) return { kind: 'over-limit', value: current };
    const written = await this.#write(add.key, add.window, current + add.amount, row?.etag);
    return written ? { kind: 'added', value: current + add.amount } : undefined;
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
    return counterRow(entity);
  }

  /** The rows of `reads` (all in `partition`) with one query, in the order of `reads`. */
  async #query(partition: string, reads: readonly CounterRead[]): Promise<(CounterRow | undefined)[]> {
    const rowKeys = reads.map((r) => `RowKey eq ${odataString(r.key.rowKey)}`).join(' or ');
    const filter = `PartitionKey eq ${odataString(partition)} and (${rowKeys})`;
    const found = new Map<string, CounterRow>();
    try {
      const entities = (await this.#client).listEntities({ queryOptions: { filter }, ...this.#callOptions() });
      for await (const entity of entities) found.set(String(entity.rowKey), counterRow(entity));
    } catch (error) {
      // No table yet: nothing counted (the first write creates the table).
      if (statusOf(error) !== 404) throw error;
    }
    return reads.map((r) => found.get(r.key.rowKey));
  }

  #keep(key: CounterKey, row: CounterRow | undefined): void {
    const id = counterId(key);
    this.#kept.delete(id);
    if (this.#kept.size >= this.#maxKeptRows) {
      const oldest = this.#kept.keys().next();
      if (!oldest.done) this.#kept.delete(oldest.value);
    }
    this.#kept.set(id, { row });
  }

  #take(key: CounterKey): KeptRow | undefined {
    const id = counterId(key);
    const kept = this.#kept.get(id);
    this.#kept.delete(id);
    return kept;
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

function counterId(key: CounterKey): string {
  // Neither key may hold a control character (escapeKey), so U+0000 cannot occur inside either.
  return `${key.partitionKey}\u0000${key.rowKey}`;
}

function counterRow(entity: TableEntityResult<Record<string, unknown>>): CounterRow {
  return { window: String(entity.window), value: Number(entity.value ?? 0), etag: entity.etag };
}

/** The row's count in `window`: 0 when there is no row or it holds another window. */
function valueIn(row: CounterRow | undefined, window: string): number {
  return row?.window === window ? row.value : 0;
}

/**
 * An OData string literal (quotes doubled), as the SDK's `odata` tag makes it (that tag would load the SDK), for
 * filters on keys that may hold a quote; the conversation store's filters use it too.
 */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
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
