/**
 * Windowed counters: a value that belongs to one window (a UTC minute or day) and starts again from 0 in
 * the next. Two implementations: Table Storage (shared by every instance, `table-counters.ts`) and the
 * in-memory one below (this instance only: the fallback while the store is out).
 */

/** One counter row: `partitionKey` is the user (or a global shard), `rowKey` the kind of counter. */
export interface CounterKey {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** A counter and the window it is read for. */
export interface CounterRead {
  readonly key: CounterKey;
  readonly window: string;
}

/** What an add came to; `value` is the count in the window after the add, or as it stands when refused. */
export type AddResult =
  { readonly kind: 'added'; readonly value: number } | { readonly kind: 'over-limit'; readonly value: number };

export interface Counters {
  /** The counter's value in `window` (0 when there is no row yet or it holds an older window). */
  read(key: CounterKey, window: string): Promise<number>;
  /**
   * Reads counters as `read` does, in one store call when they share a partition, and keeps each row as
   * read so that the next `add` of that counter writes on it (conditionally) without reading it again.
   * Values in the order of `reads`.
   */
  readForUpdate(reads: readonly CounterRead[]): Promise<number[]>;
  /** Adds `amount` in `window`, unless the result would exceed `limit` (no limit when omitted). */
  add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult>;
  /**
   * Adds `delta` (negative to give back) to the count of `window`, never below 0: how a reservation is settled.
   * A row that holds a later window is left as it is (the window it was counted in has passed), and resolves
   * undefined; a row of an earlier window, or none, starts `window` from `max(0, delta)`.
   */
  adjust(key: CounterKey, window: string, delta: number): Promise<number | undefined>;
}

/**
 * Thrown when an add lost the ETag race more times than allowed: many updates of one counter at once.
 * Not an outage: the store answered every time.
 */
export class ContentionError extends Error {
  override readonly name = 'ContentionError';
  constructor(
    readonly key: CounterKey,
    readonly attempts: number,
  ) {
    super(`Counter ${key.partitionKey}/${key.rowKey} was updated concurrently ${attempts} times in a row.`);
  }
}

export interface MemoryCountersOptions {
  /** Entries kept before those of past windows are dropped (default 100 000, about 10 MB). */
  readonly maxEntries?: number;
}

/** Counters in this process's memory: exact for this instance, blind to the others. */
export class MemoryCounters implements Counters {
  readonly #entries = new Map<string, { window: string; value: number }>();
  readonly #maxEntries: number;

  constructor(options: MemoryCountersOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  read(key: CounterKey, window: string): Promise<number> {
    const entry = this.#entries.get(memoryKey(key));
    return Promise.resolve(entry?.window === window ? entry.value : 0);
  }

  readForUpdate(reads: readonly CounterRead[]): Promise<number[]> {
    return Promise.all(reads.map(({ key, window }) => this.read(key, window)));
  }

  add(key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    const id = memoryKey(key);
    const entry = this.#entries.get(id);
    const current = entry?.window === window ? entry.value : 0;
    if (limit !== undefined && current + amount > limit) return Promise.resolve({ kind: 'over-limit', value: current });
    this.#set(id, window, current + amount);
    return Promise.resolve({ kind: 'added', value: current + amount });
  }

  adjust(key: CounterKey, window: string, delta: number): Promise<number | undefined> {
    const id = memoryKey(key);
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.window > window) return Promise.resolve(undefined);
    const value = Math.max(0, (entry?.window === window ? entry.value : 0) + delta);
    this.#set(id, window, value);
    return Promise.resolve(value);
  }

  /** Sets a counter to `value` as the store has it, unless this memory holds a later window of it. */
  remember(key: CounterKey, window: string, value: number): void {
    const id = memoryKey(key);
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.window <= window) this.#set(id, window, value);
  }

  #set(id: string, window: string, value: number): void {
    if (!this.#entries.has(id) && this.#entries.size >= this.#maxEntries) this.#prune(window);
    this.#entries.set(id, { window, value });
  }

  /** Drops entries of past windows of the same kind (same length: minute or day); time only moves forward. */
  #prune(window: string): void {
    for (const [id, entry] of this.#entries) {
      if (entry.window.length === window.length && entry.window !== window) this.#entries.delete(id);
    }
  }
}

function memoryKey(key: CounterKey): string {
  // Neither key may hold a control character (escapeKey), so U+0000 cannot occur inside either.
  return `${key.partitionKey}\u0000${key.rowKey}`;
}
