/** Length of the sliding rate-limit window, in milliseconds. */
export const WINDOW_MS = 60_000;

/** Result of {@link RateLimiter.admit}. */
export type Admission =
  | { readonly ok: true; readonly remainingRequests: number; readonly remainingTokens: number }
  | {
      readonly ok: false;
      /** Which limit was hit: `requests` (rpm) or `tokens` (tpm). */
      readonly limit: 'requests' | 'tokens';
      /** Time until the window has room for this request, in milliseconds. */
      readonly retryAfterMs: number;
      readonly remainingRequests: number;
      readonly remainingTokens: number;
    };

interface Entry {
  readonly at: number;
  readonly tokens: number;
}

/**
 * Requests-per-minute and tokens-per-minute limits per deployment over a sliding 60 s window.
 * Only admitted requests count, as with Azure's quota.
 */
export class RateLimiter {
  readonly rpm: number;
  readonly tpm: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Entry[]>();

  /** `rpm`/`tpm`: limits per deployment per window; `now`: clock in epoch milliseconds. */
  constructor(options: { readonly rpm: number; readonly tpm: number; readonly now: () => number }) {
    this.rpm = options.rpm;
    this.tpm = options.tpm;
    this.#now = options.now;
  }

  /** Admits a request estimated at `tokens` (prompt + max output) or says how long to wait. */
  admit(deployment: string, tokens: number): Admission {
    const now = this.#now();
    const entries = this.#live(deployment, now);
    const usedTokens = entries.reduce((sum, entry) => sum + entry.tokens, 0);
    const remainingRequests = Math.max(0, this.rpm - entries.length);
    const remainingTokens = Math.max(0, this.tpm - usedTokens);
    if (entries.length >= this.rpm) {
      // The request fits once enough of the oldest requests have left the window.
      const oldest = entries[entries.length - this.rpm];
      const retryAfterMs = oldest ? oldest.at + WINDOW_MS - now : WINDOW_MS;
      return { ok: false, limit: 'requests', retryAfterMs, remainingRequests, remainingTokens };
    }
    if (usedTokens + tokens > this.tpm) {
      return {
        ok: false,
        limit: 'tokens',
        retryAfterMs: this.#tokenWait(entries, tokens, now),
        remainingRequests,
        remainingTokens,
      };
    }
    entries.push({ at: now, tokens });
    return { ok: true, remainingRequests: remainingRequests - 1, remainingTokens: remainingTokens - tokens };
  }

  /** Forgets every window. */
  reset(): void {
    this.#windows.clear();
  }

  #live(deployment: string, now: number): Entry[] {
    const entries = (this.#windows.get(deployment) ?? []).filter((entry) => entry.at + WINDOW_MS > now);
    this.#windows.set(deployment, entries);
    return entries;
  }

  #tokenWait(entries: readonly Entry[], tokens: number, now: number): number {
    // A request larger than the whole budget never fits; tell the caller to wait a full window.
    if (tokens > this.tpm) return WINDOW_MS;
    let used = entries.reduce((sum, entry) => sum + entry.tokens, 0);
    for (const entry of entries) {
      used -= entry.tokens;
      if (used + tokens <= this.tpm) return entry.at + WINDOW_MS - now;
    }
    return WINDOW_MS;
  }
}
