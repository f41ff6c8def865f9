/**
 * Policy: what a failed attempt does to its region's health (circuit breaker and throttle window),
 * and whether the failover loop may go on to the next region. Admission (is the region tried at
 * all) is {@link RegionHealth.admit}; a success is {@link RegionHealth.recordSuccess}.
 */
import type { ChatError } from '../errors';
import type { RegionHealth } from '../region-health';

/**
 * How long a throttled region is left alone when its 429 named no window, and the Retry-After of
 * "every region failed" when no region says when it is back, ms.
 */
export const DEFAULT_RETRY_AFTER_MS = 5_000;

/** `next`: another region may do better; `stop`: the error is the answer (bad request, content filter...). */
export type Verdict = 'next' | 'stop';

/**
 * Records a failed attempt: a 429 leaves the region alone for its window (the breaker untouched:
 * throttling is not an outage), a failure another region may fix counts towards the breaker, and
 * anything else (bad request, content filter, missing deployment) says nothing about the region.
 */
export function recordFailedAttempt(health: RegionHealth, region: string, error: ChatError): Verdict {
  if (error.code === 'throttled' || error.code === 'quota_exhausted') {
    health.recordThrottle(region, health.now() + (error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS), error.code);
    return 'next';
  }
  if (error.failover) {
    health.recordFailure(region, error.code);
    return 'next';
  }
  health.recordNeutral(region, error.code);
  return 'stop';
}
