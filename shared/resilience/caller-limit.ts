/**
 * Fair admission on one instance: each signed-in caller (a user, a daemon app) may have at most
 * `CHAT_CALLER_MAX_IN_FLIGHT` requests running at once. The load shedder (./load-shedder.ts) protects the
 * instance as a whole, but it cannot tell who caused the load: one user opening 500 streams would make it turn
 * everybody away. This limit is asked right after the caller is known and before any other work (body, quota,
 * model call), so the flood costs its sender a 429 each, and the instance stays free for everybody else.
 *
 * In flight means from admission until the answer is complete: for a stream, until its body ends, fails or is
 * cancelled (the client leaving), not merely until the handler returns with the first byte.
 *
 * Not limited: requests of nobody (CHAT_AUTH_LEVEL=anonymous, a gateway in front limits them) and the one
 * `service` caller (every function-key caller together: a trusted server relaying many people's chats).
 */
import type { Caller } from '../auth/caller';
import { intSetting, type Env } from '../settings';

/** Retry-After of a request over the limit, ms: about the length of a short streamed answer. */
export const IN_FLIGHT_RETRY_AFTER_MS = 1_000;

export interface CallerLimitSettings {
  /** `CHAT_CALLER_MAX_IN_FLIGHT`: requests one user or app may have running on one instance. Default 10; 0 = no limit. */
  readonly maxInFlight: number;
}

export const CALLER_LIMIT_DEFAULTS: CallerLimitSettings = Object.freeze({ maxInFlight: 10 });

/** Reads `CHAT_CALLER_MAX_IN_FLIGHT`; throws ConfigError naming it when it is not a whole number from 0 to 10 000. */
export function callerLimitSettings(env: Env): CallerLimitSettings {
  return Object.freeze({
    maxInFlight: intSetting(env, 'CHAT_CALLER_MAX_IN_FLIGHT', {
      fallback: CALLER_LIMIT_DEFAULTS.maxInFlight,
      min: 0,
      max: 10_000,
    }),
  });
}

/** The key a caller is counted under, or undefined when the caller is not limited (see the module comment). */
export function limitedCallerKey(caller: Caller | undefined): string | undefined {
  if (caller === undefined || caller.kind === 'service') return undefined;
  return `${caller.kind}:${caller.id}`;
}

/** Ends one admitted request's count; calling it again does nothing. */
export type Release = () => void;

/** A request over its caller's limit: how many of theirs are running, and when to come back. */
export interface OverLimit {
  readonly inFlight: number;
  readonly limit: number;
  readonly retryAfterMs: number;
}

export type Admission = { readonly ok: true; readonly release: Release } | ({ readonly ok: false } & OverLimit);

/** One per process: requests in flight per caller. Memory is one map entry per caller with a request running. */
export class CallerInFlight {
  readonly #limit: number;
  readonly #counts = new Map<string, number>();

  constructor(settings: CallerLimitSettings) {
    this.#limit = settings.maxInFlight;
  }

  /** Admits the caller's request (then call `release` once its answer is complete) or says it is over the limit. */
  admit(caller: Caller | undefined): Admission {
    const key = limitedCallerKey(caller);
    if (key === undefined || this.#limit === 0) return { ok: true, release: () => undefined };
    const running = this.#counts.get(key) ?? 0;
    if (running >= this.#limit) {
      return { ok: false, inFlight: running, limit: this.#limit, retryAfterMs: IN_FLIGHT_RETRY_AFTER_MS };
    }
    this.#counts.set(key, running + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#counts.get(key) ?? 1) - 1;
        if (left > 0) this.#counts.set(key, left);
        else this.#counts.delete(key);
      },
    };
  }

  /** Requests of `caller` running now (0 for callers that are not limited). */
  inFlight(caller: Caller | undefined): number {
    const key = limitedCallerKey(caller);
    return key === undefined ? 0 : (this.#counts.get(key) ?? 0);
  }
}

/**
 * `body`, calling `release` once when it ends, fails or is returned (a client that left, the library stopping
 * early). `return` releases at once, not after the chunk being awaited, which for a stalled upstream may never
 * come: an async generator would run its `finally` only then.
 */
export function releasingBody<T>(body: AsyncIterable<T>, release: Release): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = body[Symbol.asyncIterator]();
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done === true) release();
            return step;
          } catch (error) {
            release();
            throw error;
          }
        },
        async return(value?: unknown) {
          release();
          return (await inner.return?.(value)) ?? { done: true, value: undefined };
        },
        async throw(error?: unknown) {
          release();
          if (inner.throw) return inner.throw(error);
          throw error;
        },
      };
    },
  };
}
