/**
 * Per-user quotas that hold across every instance of the app, and a global ceiling.
 *
 * Storage layout (Azure Table Storage, table `quotas`; Azurite locally):
 *
 * | PartitionKey        | RowKey              | window             | value                                   |
 * | ------------------- | ------------------- | ------------------ | --------------------------------------- |
 * | `user:<escaped id>` | `requests-per-minute` | `2025-06-01T12:34` | requests admitted in that UTC minute   |
 * | `user:<escaped id>` | `tokens-per-day`    | `2025-06-01`       | tokens used that UTC day, and reserved  |
 * | `global:<shard>`    | `tokens-per-minute` | `2025-06-01T12:34` | tokens of that minute, this shard's part |
 *
 * One partition per user: a user's traffic touches only their partition, so no partition is hot for
 * everyone (Table Storage serves about 2,000 entities/s per partition). The global ceiling is a sharded
 * budget: `CHAT_GLOBAL_TOKENS_PER_MINUTE` split over N shard partitions (default 8); an admit reads one
 * random shard (another if that one is spent) and usage is added to a random shard, so global writes are
 * spread N ways. The ceiling is approximate by design: tokens are known only after an answer, so answers
 * in flight when it is reached still finish. Rows are rewritten when their window passes, never added.
 *
 * Updates are conditional (ETags, see table-counters.ts): no increment is lost between instances.
 *
 * Tokens are reserved and settled: `reserve` adds the request's estimate (prompt upper bound plus the completion
 * limit) to the day's count with a conditional write that succeeds only while the count is under the limit, and
 * the reservation's `settle` replaces it with the real usage once the answer has ended, however it ended. So a
 * burst reads no stale count: each request's write sees the ones before it, on every instance, and the day's
 * limit is passed by at most one request's reservation (the last one admitted under it). A check is four store
 * calls: one partition query of the user's day and minute rows, the minute's write and the day's reservation on
 * the rows it read, and the settle.
 *
 * When the store fails (refused, timeout, 5xx, denied) the service goes on in this instance's memory, logs one
 * warning, reports `degraded`, and tries the store again after a back-off (5 s, doubling to 60 s). The memory is
 * no fresh zero: every count this instance read or wrote in the store is kept there, so a caller it has seen goes
 * on from their last known count (and one already at a limit stays refused). A write that failed is counted in
 * memory as if it had been made (a timeout may have reached the store), and every change made in memory while
 * the store was out is written back to it when it answers again, so the day's count ends up whole. A caller this
 * instance has not seen this window starts from 0 here until the store is back: degraded, never refusing every
 * chat. Since every instance then counts blind to the others, a limit in memory is half the limit (at least 1):
 * closed for callers near their limit, so two instances that lose the store at once still hold it.
 */
import { ChatError } from '../errors';
import type { Logger } from '../logger';
import {
  ContentionError,
  MemoryCounters,
  type AddResult,
  type CounterKey,
  type CounterRead,
  type Counters,
} from './counters';
import {
  dayWindow,
  minuteWindow,
  msToNextMinute,
  msToNextUtcMidnight,
  partitionKey,
  shardBudget,
  shardPartitionKey,
  type Caller,
} from './windows';

/** The limits, 0 meaning no limit (see {@link QuotaSettings} for the settings and defaults). */
export interface QuotaLimits {
  readonly userRequestsPerMinute: number;
  readonly userTokensPerDay: number;
  readonly globalTokensPerMinute: number;
}

/** The store's state for health: a discriminated union, each state with what it needs. */
export type QuotaStoreState =
  | { readonly state: 'ok'; readonly since?: string }
  | { readonly state: 'degraded'; readonly since: string; readonly lastError: string; readonly nextProbeAt: string }
  | { readonly state: 'local'; readonly reason: string };

/** What an admitted request may still do; a field is absent when its limit is off. */
export interface Admitted {
  readonly requestsRemaining?: number;
  readonly tokensRemaining?: number;
}

/** A request's tokens held against the caller's daily quota until its real usage is known. */
export interface Reservation extends Admitted {
  /** Tokens reserved: 0 when the daily limit is off or the caller is a service. */
  readonly tokens: number;
  /**
   * Replaces the reservation with the real usage (prompt + completion as billed), once: later calls do nothing.
   * Never rejects: the answer has been served already; a count that could not be written is logged.
   */
  settle(usedTokens: number): Promise<void>;
  /** The request never reached a region (refused after its admission): its tokens and its request given back. */
  release(): Promise<void>;
}

export interface QuotaServiceOptions {
  readonly limits: QuotaLimits;
  /** The shared counters (Table Storage); omitted: this instance's memory only, state `local`. */
  readonly store?: Counters;
  readonly logger: Logger;
  /** Shards of the global budget (default 8; never more than the budget itself). */
  readonly globalShards?: number;
  /** First wait before the store is tried again after a failure, ms (default 5 000); doubles each failure. */
  readonly probeBackoffMs?: number;
  /** Longest wait between tries of a failed store, ms (default 60 000). */
  readonly maxProbeBackoffMs?: number;
  /** Random numbers in [0, 1) for shard choice (default Math.random). */
  readonly random?: () => number;
}

type Link =
  | { readonly kind: 'ok'; readonly since?: number }
  | {
      readonly kind: 'degraded';
      readonly since: number;
      readonly lastError: string;
      readonly nextProbeAt: number;
      readonly backoffMs: number;
      /** One call at a time tries the failed store; the others keep counting in memory meanwhile. */
      readonly probing: boolean;
    };

const MINUTE_ROW = 'requests-per-minute';
const DAY_ROW = 'tokens-per-day';
const SHARD_ROW = 'tokens-per-minute';
/** Shards an admit reads before it concludes the global budget of this minute is spent. */
const SHARD_READS_PER_ADMIT = 3;

export class QuotaService {
  readonly #limits: QuotaLimits;
  readonly #store?: Counters;
  readonly #memory = new MemoryCounters();
  readonly #logger: Logger;
  readonly #shards: number;
  readonly #probeBackoffMs: number;
  readonly #maxProbeBackoffMs: number;
  readonly #random: () => number;
  #link: Link = { kind: 'ok' };
  /** Changes counted in memory while the store was out, per counter, written back when it answers again. */
  readonly #pending = new Map<string, { readonly key: CounterKey; readonly window: string; readonly delta: number }>();
  /** Shards this instance saw spent, for the minute they were spent in: not read again until it passes. */
  #spentShards: { readonly window: string; readonly shards: Set<number> } = { window: '', shards: new Set() };

  constructor(options: QuotaServiceOptions) {
    this.#limits = options.limits;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#shards = Math.max(1, Math.min(options.globalShards ?? 8, options.limits.globalTokensPerMinute || 1));
    this.#probeBackoffMs = options.probeBackoffMs ?? 5_000;
    this.#maxProbeBackoffMs = options.maxProbeBackoffMs ?? 60_000;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Call before a model call. Checks the caller's tokens today, the global ceiling and the caller's
   * requests this minute, and counts the request. A server-to-server caller (`service`) is held only
   * to the global ceiling. Throws a 429 ChatError (`user_quota_exceeded` or `global_quota_exceeded`)
   * whose `retryAfterMs` is when the exhausted window ends: the next UTC minute or midnight. A store
   * that is out never causes a refusal by itself: the limits are then applied in this instance's memory.
   * Reserves no tokens: {@link reserve} does.
   * @param caller - a user id is `${tid}:${oid}`, 1 to 256 characters (RangeError otherwise).
   * @param now - epoch ms (default Date.now()).
   */
  async admit(caller: Caller, now: number = Date.now()): Promise<Admitted> {
    const { requestsRemaining, tokensRemaining } = await this.reserve(caller, 0, now);
    return {
      ...(requestsRemaining === undefined ? {} : { requestsRemaining }),
      ...(tokensRemaining === undefined ? {} : { tokensRemaining }),
    };
  }

  /**
   * {@link admit}, and `tokens` reserved against the caller's day: admitted while the day's count (usage and
   * reservations) is under the limit, so the limit is passed by at most one reservation. Settle the reservation
   * with the real usage when the answer ends, however it ends.
   * @param tokens - the request's estimate: an upper bound of its prompt plus its completion limit.
   * @param now - epoch ms (default Date.now()).
   */
  async reserve(caller: Caller, tokens: number, now: number = Date.now()): Promise<Reservation> {
    const checks = await Promise.allSettled([this.#checkTokensToday(caller, now), this.#checkGlobal(now)]);
    const [checked] = checks;
    const failures = checks.flatMap((c) => (c.status === 'rejected' ? [c.reason as unknown] : []));
    if (failures.length > 0) throw longestRefusal(failures);
    const tokensToday = checked.status === 'fulfilled' ? checked.value : undefined;
    const requests = await this.#countRequest(caller, now);
    const amount = tokensToday === undefined ? 0 : Math.max(0, Math.ceil(tokens));
    let day = tokensToday;
    if (amount > 0) {
      try {
        day = await this.#reserveTokens(caller, amount, now);
      } catch (error) {
        // Not admitted after all: the minute's count is given back.
        if (requests !== undefined) await this.#giveBackRequest(caller, now);
        throw error;
      }
    }
    let settled = false;
    const settle = async (used: number) => {
      if (settled) return false;
      settled = true;
      await this.#settle(caller, { reserved: amount, used, now });
      return true;
    };
    return {
      ...(requests === undefined ? {} : { requestsRemaining: this.#limits.userRequestsPerMinute - requests }),
      ...(day === undefined ? {} : { tokensRemaining: Math.max(0, this.#limits.userTokensPerDay - day) }),
      tokens: amount,
      settle: async (used) => void (await settle(used)),
      release: async () => {
        if ((await settle(0)) && requests !== undefined) await this.#giveBackRequest(caller, now);
      },
    };
  }

  /**
   * Call after the answer with its real usage (prompt + completion tokens, streamed or not). Never
   * throws: the answer has been served already; a count that could not be written is logged.
   * @param tokens - total tokens of the answer's usage; 0 or less records nothing.
   * @param now - epoch ms (default Date.now()).
   */
  async recordUsage(caller: Caller, tokens: number, now: number = Date.now()): Promise<void> {
    if (!(tokens > 0)) return;
    const amount = Math.round(tokens);
    const writes: Promise<unknown>[] = [];
    if (caller.kind !== 'service' && this.#limits.userTokensPerDay > 0) {
      const key = { partitionKey: partitionKey(caller), rowKey: DAY_ROW };
      writes.push(this.#add(now, key, dayWindow(now), amount));
    }
    if (this.#limits.globalTokensPerMinute > 0) {
      const key = { partitionKey: shardPartitionKey(this.#randomShard()), rowKey: SHARD_ROW };
      writes.push(this.#add(now, key, minuteWindow(now), amount));
    }
    const results = await Promise.allSettled(writes);
    for (const result of results) {
      if (result.status === 'rejected')
        this.#logger.warn('quota: usage not counted', { tokens: amount, error: describeStoreError(result.reason) });
    }
  }

  /** The reservation replaced by the real usage: the day's count moved by the difference, the global one by the usage. */
  async #settle(
    caller: Caller,
    at: { readonly reserved: number; readonly used: number; readonly now: number },
  ): Promise<void> {
    const used = at.used > 0 ? Math.round(at.used) : 0;
    const writes: Promise<unknown>[] = [];
    if (caller.kind !== 'service' && this.#limits.userTokensPerDay > 0 && used !== at.reserved) {
      const key = { partitionKey: partitionKey(caller), rowKey: DAY_ROW };
      writes.push(this.#adjust(at.now, key, dayWindow(at.now), used - at.reserved));
    }
    if (this.#limits.globalTokensPerMinute > 0 && used > 0) {
      const key = { partitionKey: shardPartitionKey(this.#randomShard()), rowKey: SHARD_ROW };
      writes.push(this.#add(at.now, key, minuteWindow(at.now), used));
    }
    const results = await Promise.allSettled(writes);
    for (const result of results) {
      if (result.status === 'rejected')
        this.#logger.warn('quota: usage not settled', {
          tokens: used,
          reserved: at.reserved,
          error: describeStoreError(result.reason),
        });
    }
  }

  /** Adds `tokens` to the caller's day while its count is under the limit; the count after it. */
  async #reserveTokens(caller: Caller, tokens: number, now: number): Promise<number> {
    const limit = this.#limits.userTokensPerDay;
    const key = { partitionKey: partitionKey(caller), rowKey: DAY_ROW };
    let result: AddResult;
    try {
      // Refused only when the count before it is at the limit already: `current + tokens > limit - 1 + tokens`.
      result = await this.#add(now, key, dayWindow(now), tokens, limit - 1 + tokens);
    } catch (error) {
      if (!(error instanceof ContentionError)) throw error;
      throw refusal('user_quota_exceeded', 1_000, {
        message: 'Too many requests at once. Try again in a second.',
        diagnosis: `${error.message} Refused rather than admitted unreserved.`,
      });
    }
    if (result.kind === 'added') return result.value;
    throw dayRefusal(key.partitionKey, result.value, limit, now);
  }

  /** The minute's count of a request that was not admitted after all, given back. */
  async #giveBackRequest(caller: Caller, now: number): Promise<void> {
    const key = { partitionKey: partitionKey(caller), rowKey: MINUTE_ROW };
    await this.#adjust(now, key, minuteWindow(now), -1).catch((error: unknown) =>
      this.#logger.warn('quota: request count not given back', { error: describeStoreError(error) }),
    );
  }

  /** The store's state, for the health endpoint. */
  state(): QuotaStoreState {
    if (!this.#store)
      return { state: 'local', reason: 'No quota store is configured: each instance counts on its own.' };
    const link = this.#link;
    if (link.kind === 'ok') return link.since === undefined ? { state: 'ok' } : { state: 'ok', since: iso(link.since) };
    return { state: 'degraded', since: iso(link.since), lastError: link.lastError, nextProbeAt: iso(link.nextProbeAt) };
  }

  /** Returns the tokens used today, or undefined when the limit is off or the caller is a service. */
  async #checkTokensToday(caller: Caller, now: number): Promise<number | undefined> {
    const limit = this.#limits.userTokensPerDay;
    if (caller.kind === 'service' || limit === 0) return undefined;
    const key = { partitionKey: partitionKey(caller), rowKey: DAY_ROW };
    const reads: CounterRead[] = [{ key, window: dayWindow(now) }];
    // The minute's count is in the same partition: one query reads both, and the conditional writes that
    // follow (the minute's in #countRequest, the day's reservation) need no reads of their own.
    if (this.#limits.userRequestsPerMinute > 0)
      reads.push({ key: { ...key, rowKey: MINUTE_ROW }, window: minuteWindow(now) });
    const [used = 0] = await this.#read(now, reads);
    if (used < limit) return used;
    throw dayRefusal(key.partitionKey, used, limit, now);
  }

  /** Returns the requests counted this minute including this one, or undefined when the limit is off. */
  async #countRequest(caller: Caller, now: number): Promise<number | undefined> {
    const limit = this.#limits.userRequestsPerMinute;
    if (caller.kind === 'service' || limit === 0) return undefined;
    const key = { partitionKey: partitionKey(caller), rowKey: MINUTE_ROW };
    let result: AddResult;
    try {
      result = await this.#add(now, key, minuteWindow(now), 1, limit);
    } catch (error) {
      if (!(error instanceof ContentionError)) throw error;
      // So many requests of one user at once that the count could not be updated: that is a burst over any limit.
      throw refusal('user_quota_exceeded', 1_000, {
        message: 'Too many requests at once. Try again in a second.',
        diagnosis: `${error.message} Refused rather than admitted uncounted.`,
      });
    }
    if (result.kind === 'added') return result.value;
    const retryAfterMs = msToNextMinute(now);
    throw refusal('user_quota_exceeded', retryAfterMs, {
      message: `Too many requests: at most ${limit} a minute per user. Try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
      diagnosis: `${key.partitionKey} made ${result.value} requests in ${minuteWindow(now)} (CHAT_USER_REQUESTS_PER_MINUTE=${limit}).`,
    });
  }

  /** Finds a shard of the global budget with tokens left this minute; refuses when none is found. */
  async #checkGlobal(now: number): Promise<void> {
    const limit = this.#limits.globalTokensPerMinute;
    if (limit === 0) return;
    const window = minuteWindow(now);
    if (this.#spentShards.window !== window) this.#spentShards = { window, shards: new Set() };
    const spent = this.#spentShards.shards;
    for (let read = 0; read < SHARD_READS_PER_ADMIT && spent.size < this.#shards; read++) {
      const shard = this.#randomShard(spent);
      const key: CounterKey = { partitionKey: shardPartitionKey(shard), rowKey: SHARD_ROW };
      const used = await this.#use(
        now,
        async (store) => this.#remembered(key, window, await store.read(key, window)),
        () => this.#memory.read(key, window),
      );
      if (used < shardBudget(limit, this.#shards, shard)) return;
      spent.add(shard);
    }
    const retryAfterMs = msToNextMinute(now);
    throw refusal('global_quota_exceeded', retryAfterMs, {
      message: `The service is at its overall limit for this minute. Try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
      diagnosis: `The global budget (CHAT_GLOBAL_TOKENS_PER_MINUTE=${limit}, ${this.#shards} shards) looks spent in ${window}: ${spent.size} shards spent.`,
    });
  }

  /** A shard chosen at random among those not known to be spent. */
  #randomShard(spent: ReadonlySet<number> = new Set()): number {
    const open = Array.from({ length: this.#shards }, (_, i) => i).filter((i) => !spent.has(i));
    return open[Math.min(open.length - 1, Math.floor(this.#random() * open.length))] ?? 0;
  }

  /** Counters read for update (one query when they share a partition), kept in memory as the store has them. */
  #read(now: number, reads: readonly CounterRead[]): Promise<number[]> {
    return this.#use(
      now,
      async (store) => {
        const values = await store.readForUpdate(reads);
        reads.forEach(({ key, window }, i) => this.#memory.remember(key, window, values[i] ?? 0));
        return values;
      },
      () => this.#memory.readForUpdate(reads),
    );
  }

  /** `Counters.add` on the store, or in memory (to be written back) while it is out. */
  #add(now: number, key: CounterKey, window: string, amount: number, limit?: number): Promise<AddResult> {
    return this.#use(
      now,
      async (store) => {
        const result = await store.add(key, window, amount, limit);
        this.#memory.remember(key, window, result.value);
        return result;
      },
      async () => {
        // With a store that is out, closed for callers near their limit: the other instances count blind too, so
        // each takes half. Without any store (local only) memory is the one count and the limit is whole.
        const result = await this.#memory.add(key, window, amount, this.#store ? degradedLimit(limit) : limit);
        if (result.kind === 'added') this.#pend(key, window, amount);
        return result;
      },
    );
  }

  /** `Counters.adjust` on the store, or in memory (to be written back) while it is out. */
  #adjust(now: number, key: CounterKey, window: string, delta: number): Promise<number | undefined> {
    return this.#use(
      now,
      async (store) => this.#remembered(key, window, await store.adjust(key, window, delta)),
      async () => {
        const value = await this.#memory.adjust(key, window, delta);
        if (value !== undefined) this.#pend(key, window, delta);
        return value;
      },
    );
  }

  #remembered<T extends number | undefined>(key: CounterKey, window: string, value: T): T {
    if (value !== undefined) this.#memory.remember(key, window, value);
    return value;
  }

  /** A change made in memory while the store was out, to be written back when it answers again. */
  #pend(key: CounterKey, window: string, delta: number): void {
    const id = `${key.partitionKey}\u0000${key.rowKey}`;
    const pending = this.#pending.get(id);
    if (pending !== undefined && pending.window > window) return;
    const sum = pending?.window === window ? pending.delta + delta : delta;
    this.#pending.set(id, { key, window, delta: sum });
  }

  /** Writes back what was counted in memory while the store was out; throws at the first failure, the rest kept. */
  async #writeBack(store: Counters): Promise<void> {
    const pending = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [index, [, change]] of pending.entries()) {
      try {
        await store.adjust(change.key, change.window, change.delta);
      } catch (error) {
        for (const [, left] of pending.slice(index)) this.#pend(left.key, left.window, left.delta);
        throw error;
      }
    }
    this.#logger.info('quota: counts made while the store was out written back to it', { counters: pending.length });
  }

  /**
   * Runs one counter operation on the store, or in memory while the store is out; a store failure
   * switches to memory for this and later calls until a probe succeeds. ContentionError is no failure.
   */
  async #use<T>(now: number, onStore: (store: Counters) => Promise<T>, inMemory: () => Promise<T>): Promise<T> {
    const store = this.#store;
    if (!store || !this.#mayUseStore(now)) return inMemory();
    try {
      // What was counted in memory while the store was out goes back first, so this call reads it too.
      if (this.#pending.size > 0) await this.#writeBack(store);
      const result = await onStore(store);
      this.#succeeded(now);
      return result;
    } catch (error) {
      if (error instanceof ContentionError) {
        this.#succeeded(now);
        throw error;
      }
      this.#failed(now, error);
      return inMemory();
    }
  }

  /** Whether this call may use the store: always when ok; when degraded, one call once the back-off passed. */
  #mayUseStore(now: number): boolean {
    const link = this.#link;
    if (link.kind === 'ok') return true;
    if (link.probing || now < link.nextProbeAt) return false;
    this.#link = { ...link, probing: true };
    return true;
  }

  #succeeded(now: number): void {
    const link = this.#link;
    if (link.kind === 'ok') return;
    this.#link = { kind: 'ok', since: now };
    this.#logger.info('quota: store reachable again; limits hold across instances again', {
      degradedForMs: now - link.since,
    });
  }

  #failed(now: number, error: unknown): void {
    const link = this.#link;
    const lastError = describeStoreError(error);
    if (link.kind === 'ok') {
      this.#link = {
        kind: 'degraded',
        since: now,
        lastError,
        nextProbeAt: now + this.#probeBackoffMs,
        backoffMs: this.#probeBackoffMs,
        probing: false,
      };
      this.#logger.warn(
        'quota: store unavailable; counting per instance until it is back (limits hold per instance only)',
        {
          error: lastError,
          retryInMs: this.#probeBackoffMs,
        },
      );
      return;
    }
    // A failed probe (or a call that was already under way when the store went): wait longer, no new warning.
    const backoffMs = link.probing ? Math.min(link.backoffMs * 2, this.#maxProbeBackoffMs) : link.backoffMs;
    this.#link = {
      ...link,
      lastError,
      backoffMs,
      nextProbeAt: Math.max(link.nextProbeAt, now + backoffMs),
      probing: false,
    };
  }
}

/** When several limits refuse, the one that lasts longest, so the client's Retry-After is right. */
function longestRefusal(failures: readonly unknown[]): unknown {
  const refusals = failures.filter((f): f is ChatError => f instanceof ChatError);
  if (refusals.length < failures.length) return failures.find((f) => !(f instanceof ChatError));
  return refusals.reduce((a, b) => ((b.retryAfterMs ?? 0) > (a.retryAfterMs ?? 0) ? b : a));
}

function dayRefusal(partition: string, used: number, limit: number, now: number): ChatError {
  return refusal('user_quota_exceeded', msToNextUtcMidnight(now), {
    message: `Daily token quota used up: at most ${limit} tokens a day per user. It resets at midnight UTC.`,
    diagnosis: `${partition} used or reserved ${used} tokens on ${dayWindow(now)} (CHAT_USER_TOKENS_PER_DAY=${limit}).`,
  });
}

function refusal(
  code: 'user_quota_exceeded' | 'global_quota_exceeded',
  retryAfterMs: number,
  text: { readonly message: string; readonly diagnosis: string },
): ChatError {
  return new ChatError(code, { ...text, retryAfterMs });
}

/** One line about a store failure, for logs and health: status and code when the SDK gave them, never a secret. */
export function describeStoreError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const parts = [
    error.name,
    typeof statusCode === 'number' ? String(statusCode) : '',
    typeof code === 'string' ? code : '',
  ];
  const head = parts.filter(Boolean).join(' ');
  const hint =
    statusCode === 403
      ? " (the app's identity needs the role Storage Table Data Contributor on the storage account)"
      : '';
  return `${head}: ${error.message.split('\n')[0]?.slice(0, 200) ?? ''}${hint}`;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** A limit applied in memory while the store is out: half of it (at least 1), as other instances count blind too. */
export function degradedLimit(limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : Math.max(1, Math.floor(limit / 2));
}
