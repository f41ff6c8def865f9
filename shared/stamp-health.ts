/**
 * Whether this stamp can answer a chat, as `GET /api/health` tells Azure Front Door: 503 only when every region
 * fails a cheap real check, so Front Door moves users to the other stamp; 200 otherwise.
 *
 * The breakers alone cannot say it. A breaker opens on chat failures and learns of a recovery only from the next
 * chat, and once Front Door has moved the users away no chat comes: a stamp that answered 503 on its breakers would
 * never come back. A fresh instance has seen nothing at all. So a region with no recent evidence is checked for
 * real: the doctor's checks of `GET /api/health/deep` (endpoint, credential, a one-token completion), for one
 * deployment, at most once per `CHAT_HEALTH_CHECK_INTERVAL_MS` per region and instance, one check shared by every
 * health request that arrives meanwhile. A chat that succeeded within that interval is evidence enough (a stamp
 * serving users checks nothing), and a check counts for the breaker as a chat would: after the cool-down it is the
 * breaker's trial call, so a recovered region closes its breaker with no chat traffic.
 *
 * Front Door's edges probe often (tens to hundreds a minute): each probe costs a lookup here, and the model is
 * called at most twice per interval per instance (once per region), only while no chat proves the regions well.
 */
import { ChatError, ERROR_CODES, type ErrorCode } from './errors';
import type { Logger } from './logger';
import type { RegionHealth, RegionStatus } from './region-health';
import { recordFailedAttempt } from './resilience/breaker';
import { intSetting, type Env } from './settings';

export interface HealthCheckSettings {
  /**
   * `CHAT_HEALTH_CHECK_INTERVAL_MS`: how long a region's check (or a chat's success) counts as fresh, ms: the most
   * a region is checked per instance is once per interval. Default 15 000.
   */
  readonly intervalMs: number;
  /** `CHAT_HEALTH_CHECK_TIMEOUT_MS`: time limit of each step of a check (connect, credential, completion), ms. Default 5 000. */
  readonly timeoutMs: number;
}

export const HEALTH_CHECK_DEFAULTS: HealthCheckSettings = Object.freeze({ intervalMs: 15_000, timeoutMs: 5_000 });

/** Reads the CHAT_HEALTH_CHECK_* settings; throws ConfigError naming the setting when one is out of range. */
export function healthCheckSettings(env: Env): HealthCheckSettings {
  return Object.freeze({
    intervalMs: intSetting(env, 'CHAT_HEALTH_CHECK_INTERVAL_MS', {
      fallback: HEALTH_CHECK_DEFAULTS.intervalMs,
      min: 100,
      max: 600_000,
    }),
    timeoutMs: intSetting(env, 'CHAT_HEALTH_CHECK_TIMEOUT_MS', {
      fallback: HEALTH_CHECK_DEFAULTS.timeoutMs,
      min: 100,
      max: 60_000,
    }),
  });
}

/** What one real check of a region came to; `code` is the error code of the step that failed. */
export type CheckOutcome = { readonly ok: true } | { readonly ok: false; readonly code: string };

/** Checks one region for real (never rejects). Production: the doctor's checks, see ./doctor.ts. */
export type RegionCheck = (region: string) => Promise<CheckOutcome>;

/** The last check of a region: when it ended (ms) and how. */
export type LastCheck = CheckOutcome & { readonly at: number };

/** What health makes of a region now. */
export type RegionVerdict =
  /** A chat or a check succeeded within the interval. */
  | { readonly kind: 'serving' }
  /** Answered 429 lately: the region is up, only busy (every stamp shares its quota, so moving would not help). */
  | { readonly kind: 'throttled' }
  /** A chat is making the breaker's trial call right now. */
  | { readonly kind: 'trial' }
  /** The breaker is open and cooling down: kept out until `until`. */
  | { readonly kind: 'open'; readonly until: number }
  /** Its check failed within the interval. */
  | { readonly kind: 'failing'; readonly code: string }
  /** Nothing fresh is known: check it before answering. */
  | { readonly kind: 'unchecked' };

/** Whether a region with this verdict lets the stamp answer chats. */
export function canServe(verdict: RegionVerdict): boolean {
  return verdict.kind === 'serving' || verdict.kind === 'throttled' || verdict.kind === 'trial';
}

/**
 * The verdict on one region (pure). An open breaker past its cool-down (`ready`) is not a verdict on its own: it
 * asks for a check, unless one ran within the interval (then that check says it).
 */
export function regionVerdict(
  status: RegionStatus,
  lastCheck: LastCheck | undefined,
  now: number,
  intervalMs: number,
): RegionVerdict {
  if (status.throttledUntil !== undefined && status.throttledUntil > now) return { kind: 'throttled' };
  if (status.breaker === 'open') return { kind: 'open', until: status.openUntil ?? now };
  if (status.breaker === 'trial') return { kind: 'trial' };
  const fresh = (at: number | undefined) => at !== undefined && at > now - intervalMs;
  if (status.breaker === 'closed' && fresh(status.lastSuccessAt)) return { kind: 'serving' };
  if (!lastCheck || !fresh(lastCheck.at)) return { kind: 'unchecked' };
  return lastCheck.ok ? { kind: 'serving' } : { kind: 'failing', code: lastCheck.code };
}

/** One region in the health answer: its verdict, and its last check (codes only: nothing that names a resource). */
export interface RegionHealthView {
  readonly name: string;
  readonly verdict: RegionVerdict;
  readonly lastCheck?: { readonly ok: boolean; readonly at: string; readonly code?: string };
}

export interface StampReport {
  /** Whether any region can serve a chat: the status code Front Door reads (200, else 503). */
  readonly canServe: boolean;
  readonly regions: readonly RegionHealthView[];
}

export interface StampHealthOptions {
  /** The chat service's region health: checks read and feed the same breakers as chats. */
  readonly health: RegionHealth;
  /** Region names, in priority order. */
  readonly regions: readonly string[];
  readonly check: RegionCheck;
  readonly settings: HealthCheckSettings;
  readonly logger?: Logger;
}

export class StampHealth {
  readonly #options: StampHealthOptions;
  readonly #lastCheck = new Map<string, LastCheck>();
  /** The check under way per region, shared by every health request that needs it meanwhile. */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(options: StampHealthOptions) {
    this.#options = options;
  }

  /**
   * The stamp's health now. When no region is known to serve, the regions with nothing fresh to go on are checked
   * first (in parallel, each at most once per interval), so a fresh instance and a stamp with no chat traffic both
   * answer from a real check. When one region serves, nothing is checked: one is enough for a 200.
   */
  async report(): Promise<StampReport> {
    let verdicts = this.#verdicts();
    if (!verdicts.some(({ verdict }) => canServe(verdict))) {
      const due = verdicts.filter(({ verdict }) => verdict.kind === 'unchecked');
      if (due.length > 0) {
        await Promise.all(due.map(({ name }) => this.#checkOnce(name)));
        verdicts = this.#verdicts();
      }
    }
    return {
      canServe: verdicts.some(({ verdict }) => canServe(verdict)),
      regions: verdicts.map(({ name, verdict }) => {
        const last = this.#lastCheck.get(name);
        return {
          name,
          verdict,
          ...(last
            ? {
                lastCheck: {
                  ok: last.ok,
                  at: new Date(last.at).toISOString(),
                  ...(last.ok ? {} : { code: last.code }),
                },
              }
            : {}),
        };
      }),
    };
  }

  #verdicts(): { name: string; verdict: RegionVerdict }[] {
    const { health, regions, settings } = this.#options;
    const now = health.now();
    return regions.map((name) => ({
      name,
      // A region whose check is under way is not judged until it ends (its breaker shows the check's trial).
      verdict: this.#inFlight.has(name)
        ? { kind: 'unchecked' }
        : regionVerdict(health.status(name), this.#lastCheck.get(name), now, settings.intervalMs),
    }));
  }

  #checkOnce(region: string): Promise<void> {
    let running = this.#inFlight.get(region);
    if (!running) {
      running = this.#check(region).finally(() => this.#inFlight.delete(region));
      this.#inFlight.set(region, running);
    }
    return running;
  }

  async #check(region: string): Promise<void> {
    const { health, check, logger } = this.#options;
    // Past the cool-down this takes the breaker's trial; a chat that took it first, or a throttle, means no check.
    if (health.admit(region).kind === 'skip') return;
    let outcome: CheckOutcome;
    try {
      outcome = await check(region);
    } catch (error) {
      // A RegionCheck never rejects; if one does, the region is not shown to be well.
      outcome = { ok: false, code: error instanceof ChatError ? error.code : 'internal_error' };
    }
    this.#lastCheck.set(region, { ...outcome, at: health.now() });
    if (outcome.ok) {
      health.recordSuccess(region);
      return;
    }
    logger?.warn(`Health check: region ${region} failed (${outcome.code})`);
    recordFailedAttempt(health, region, checkError(outcome.code));
  }
}

/** The failed check as the breaker policy reads a chat's failure (an unknown code counts as an upstream error). */
function checkError(code: string): ChatError {
  const known = Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'upstream_error';
  return new ChatError(known, { message: `Health check failed: ${code}.` });
}
