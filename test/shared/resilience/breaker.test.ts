import { describe, expect, it } from 'vitest';
import { ChatError, type ErrorCode } from '../../../shared/errors';
import { RegionHealth } from '../../../shared/region-health';
import { DEFAULT_RETRY_AFTER_MS, recordFailedAttempt } from '../../../shared/resilience/breaker';

function health() {
  const now = 1_000_000;
  return new RegionHealth({ regions: ['eastus2'], failureThreshold: 1, cooldownMs: 30_000, now: () => now });
}

describe('recordFailedAttempt', () => {
  it.each([
    ['throttled', 'next', 'closed', true],
    ['quota_exhausted', 'next', 'closed', true],
    ['region_unavailable', 'next', 'open', false],
    ['upstream_timeout', 'next', 'open', false],
    ['key_rejected', 'next', 'open', false],
    ['content_filtered', 'stop', 'closed', false],
    ['invalid_request', 'stop', 'closed', false],
    ['deployment_not_found', 'stop', 'closed', false],
  ] as const)('after %s: %s, breaker %s, throttled %s', (code, verdict, state, throttled) => {
    const h = health();
    expect(recordFailedAttempt(h, 'eastus2', new ChatError(code as ErrorCode, { message: code }))).toBe(verdict);
    const [region] = h.snapshot();
    expect(region?.state).toBe(state);
    expect(region?.throttledUntil !== undefined).toBe(throttled);
    expect(region?.lastError?.code).toBe(code);
  });

  it('leaves a throttled region alone for its retry-after, or the default when it named none', () => {
    const h = health();
    recordFailedAttempt(h, 'eastus2', new ChatError('throttled', { message: 't', retryAfterMs: 12_000 }));
    expect(h.peek('eastus2')).toMatchObject({ kind: 'skip', reason: 'throttled', until: h.now() + 12_000 });
    const other = health();
    recordFailedAttempt(other, 'eastus2', new ChatError('throttled', { message: 't' }));
    expect(other.peek('eastus2')).toMatchObject({ until: other.now() + DEFAULT_RETRY_AFTER_MS });
  });
});
