/**
 * Policy: waiting for a throttled region. In an HTTP request the backend does not sleep out a long
 * 429: only when no region can serve now, and the soonest throttled region is back within
 * `maxWaitMs` and before the deadline, is that short wait worth it.
 */
import type { RegionHealth } from '../region-health';

/** How long until each listed region that is skipped now (for `reason`) may be tried again, ms. */
export function skipWaits(health: RegionHealth, regions: readonly string[], reason: 'open' | 'throttled'): number[] {
  const now = health.now();
  return regions
    .map((region) => health.peek(region))
    .flatMap((a) => (a.kind === 'skip' && a.reason === reason ? [Math.max(0, a.until - now)] : []));
}

export interface ThrottleWaitLimits {
  /** Longest wait worth taking, ms. */
  readonly maxWaitMs: number;
  /** Request deadline (health clock, epoch ms): the wait must end before it. */
  readonly deadline: number;
}

/** The wait for the soonest throttled region, ms, or undefined when none is throttled or the wait does not fit. */
export function throttleWait(
  health: RegionHealth,
  regions: readonly string[],
  limits: ThrottleWaitLimits,
): number | undefined {
  const throttled = skipWaits(health, regions, 'throttled');
  if (throttled.length === 0) return undefined;
  const wait = Math.min(...throttled);
  return wait <= limits.maxWaitMs && health.now() + wait < limits.deadline ? wait : undefined;
}

/** Waits `ms`; rejects when `signal` aborts (the client left). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}
