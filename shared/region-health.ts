/**
 * Per-region health shared by every request in the process: a circuit breaker and the time until
 * which a throttled region is left alone. State is a discriminated union so each state carries only
 * what it needs.
 */

export type BreakerState =
  | { readonly kind: 'closed'; readonly failures: number }
  | { readonly kind: 'open'; readonly until: number; readonly failures: number }
  | { readonly kind: 'half-open' };

export type Admission =
  | { readonly kind: 'try' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'skip'; readonly reason: 'open' | 'throttled'; readonly until: number };

export interface RegionSnapshot {
  readonly name: string;
  /**
   * `closed` (healthy), `open` (kept out until `openUntil`), `half-open` (the cool-down is over: ready to retry,
   * or one trial call in flight; see `trial`).
   */
  readonly state: BreakerState['kind'];
  /** With `half-open`: `ready` (the next call tries the region) or `in-flight` (a trial call is out). */
  readonly trial?: 'ready' | 'in-flight';
  readonly consecutiveFailures: number;
  /** ISO time until which the region is skipped because it answered 429 (absent when not throttled). */
  readonly throttledUntil?: string;
  /** ISO time until which the open breaker keeps the region out (absent unless the breaker is open). */
  readonly openUntil?: string;
  readonly lastError?: { readonly code: string; readonly at: string };
  readonly lastSuccessAt?: string;
}

/**
 * A region's breaker as the stamp's health reads it, times in ms: `ready` is an open breaker whose cool-down is
 * over (the next call is a trial), `trial` a half-open one whose trial call is out.
 */
export interface RegionStatus {
  readonly breaker: 'closed' | 'open' | 'ready' | 'trial';
  readonly openUntil?: number;
  readonly throttledUntil?: number;
  readonly lastSuccessAt?: number;
}

export interface BreakerChange {
  readonly region: string;
  readonly from: BreakerState['kind'];
  readonly to: BreakerState['kind'];
}

export interface RegionHealthOptions {
  readonly regions: readonly string[];
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** Time an open breaker keeps the region out before one probe, ms. */
  readonly cooldownMs: number;
  readonly now?: () => number;
  readonly onBreakerChange?: (change: BreakerChange) => void;
}

interface Entry {
  breaker: BreakerState;
  throttledUntil: number;
  lastError?: { code: string; at: number };
  lastSuccessAt?: number;
}

export class RegionHealth {
  readonly #entries = new Map<string, Entry>();
  readonly #options: RegionHealthOptions;
  readonly #now: () => number;

  constructor(options: RegionHealthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    for (const name of options.regions)
      this.#entries.set(name, { breaker: { kind: 'closed', failures: 0 }, throttledUntil: 0 });
  }

  now(): number {
    return this.#now();
  }

  /** Would a request be let into this region now? No side effects. */
  peek(region: string): Admission {
    const entry = this.#entry(region);
    const now = this.#now();
    if (entry.throttledUntil > now) return { kind: 'skip', reason: 'throttled', until: entry.throttledUntil };
    const breaker = entry.breaker;
    switch (breaker.kind) {
      case 'closed':
        return { kind: 'try' };
      case 'half-open':
        // One probe at a time; everyone else goes elsewhere until it reports back.
        return { kind: 'skip', reason: 'open', until: now + this.#options.cooldownMs };
      case 'open':
        return breaker.until > now ? { kind: 'skip', reason: 'open', until: breaker.until } : { kind: 'probe' };
    }
  }

  /** Lets a request into the region if it may go: taking a `probe` moves an open breaker to half-open. */
  admit(region: string): Admission {
    const admission = this.peek(region);
    if (admission.kind === 'probe') this.#set(region, this.#entry(region), { kind: 'half-open' });
    return admission;
  }

  recordSuccess(region: string): void {
    const entry = this.#entry(region);
    entry.lastSuccessAt = this.#now();
    if (entry.breaker.kind !== 'closed' || entry.breaker.failures !== 0)
      this.#set(region, entry, { kind: 'closed', failures: 0 });
  }

  /** A failure that says the region is unwell (connection, timeout, 5xx). */
  recordFailure(region: string, code: string): void {
    const entry = this.#entry(region);
    const now = this.#now();
    entry.lastError = { code, at: now };
    const failures =
      entry.breaker.kind === 'half-open'
        ? this.#options.failureThreshold
        : entry.breaker.kind === 'closed' || entry.breaker.kind === 'open'
          ? entry.breaker.failures + 1
          : 1;
    if (failures >= this.#options.failureThreshold) {
      this.#set(region, entry, { kind: 'open', until: now + this.#options.cooldownMs, failures });
    } else {
      this.#set(region, entry, { kind: 'closed', failures });
    }
  }

  /** A 429: leave the region alone until `until`; the breaker is not touched (throttling is not an outage). */
  recordThrottle(region: string, until: number, code: string): void {
    const entry = this.#entry(region);
    entry.lastError = { code, at: this.#now() };
    entry.throttledUntil = Math.max(entry.throttledUntil, until);
    // A probe that was throttled proves the region is up.
    if (entry.breaker.kind === 'half-open') this.#set(region, entry, { kind: 'closed', failures: 0 });
  }

  /**
   * An attempt that ended with no verdict on the region (its client left): nothing is recorded, and a probe it
   * held is handed back, the breaker open again with its cool-down over, so the next request probes. (Not told
   * as a breaker change: the region was never judged.)
   */
  recordAbandoned(region: string): void {
    const entry = this.#entry(region);
    if (entry.breaker.kind === 'half-open') {
      entry.breaker = { kind: 'open', until: this.#now(), failures: this.#options.failureThreshold };
    }
  }

  /** A failure that says nothing about the region's health (bad request, content filter): releases a probe. */
  recordNeutral(region: string, code: string): void {
    const entry = this.#entry(region);
    entry.lastError = { code, at: this.#now() };
    if (entry.breaker.kind === 'half-open') this.#set(region, entry, { kind: 'closed', failures: 0 });
  }

  /** One region's breaker, throttle window and last success, as numbers (no side effects). */
  status(region: string): RegionStatus {
    const e = this.#entry(region);
    const now = this.#now();
    const breaker = e.breaker;
    const kind =
      breaker.kind === 'half-open' ? 'trial' : breaker.kind === 'open' && breaker.until <= now ? 'ready' : breaker.kind;
    return {
      breaker: kind,
      ...(breaker.kind === 'open' && kind === 'open' ? { openUntil: breaker.until } : {}),
      ...(e.throttledUntil > now ? { throttledUntil: e.throttledUntil } : {}),
      ...(e.lastSuccessAt !== undefined ? { lastSuccessAt: e.lastSuccessAt } : {}),
    };
  }

  /**
   * Every region for `GET /api/health`. An open breaker whose cool-down is over shows as `half-open` with
   * `trial: 'ready'`: it keeps nothing out any more (the next call tries the region), so it must not read as open.
   */
  snapshot(): RegionSnapshot[] {
    const now = this.#now();
    return [...this.#entries].map(([name, e]) => ({
      name,
      ...breakerView(e.breaker, now),
      consecutiveFailures: e.breaker.kind === 'half-open' ? this.#options.failureThreshold : e.breaker.failures,
      ...(e.throttledUntil > now ? { throttledUntil: new Date(e.throttledUntil).toISOString() } : {}),
      ...(e.lastError ? { lastError: { code: e.lastError.code, at: new Date(e.lastError.at).toISOString() } } : {}),
      ...(e.lastSuccessAt !== undefined ? { lastSuccessAt: new Date(e.lastSuccessAt).toISOString() } : {}),
    }));
  }

  #entry(region: string): Entry {
    const entry = this.#entries.get(region);
    if (!entry) throw new Error(`Unknown region ${region}`);
    return entry;
  }

  #set(region: string, entry: Entry, next: BreakerState): void {
    const from = entry.breaker.kind;
    entry.breaker = next;
    if (from !== next.kind) this.#options.onBreakerChange?.({ region, from, to: next.kind });
  }
}

/** How a breaker reads in a snapshot at `now`. */
function breakerView(breaker: BreakerState, now: number): Pick<RegionSnapshot, 'state' | 'trial' | 'openUntil'> {
  switch (breaker.kind) {
    case 'closed':
      return { state: 'closed' };
    case 'half-open':
      return { state: 'half-open', trial: 'in-flight' };
    case 'open':
      return breaker.until > now
        ? { state: 'open', openUntil: new Date(breaker.until).toISOString() }
        : { state: 'half-open', trial: 'ready' };
  }
}
