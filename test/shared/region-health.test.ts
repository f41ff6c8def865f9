import { describe, expect, it } from 'vitest';
import { RegionHealth, type BreakerChange } from '../../shared/region-health';

function health() {
  let now = 1_000_000;
  const changes: BreakerChange[] = [];
  const h = new RegionHealth({
    regions: ['a', 'b'],
    failureThreshold: 2,
    cooldownMs: 1_000,
    now: () => now,
    onBreakerChange: (c) => changes.push(c),
  });
  return { h, changes, advance: (ms: number) => (now += ms) };
}

describe('RegionHealth', () => {
  it('opens after consecutive failures, lets one probe through after the cool-down, and closes on success', () => {
    const { h, changes, advance } = health();
    h.recordFailure('a', 'region_unavailable');
    expect(h.admit('a').kind).toBe('try');
    h.recordFailure('a', 'region_unavailable');
    expect(h.admit('a')).toMatchObject({ kind: 'skip', reason: 'open' });
    advance(1_000);
    expect(h.admit('a').kind).toBe('probe');
    // While the probe is out, everyone else skips the region.
    expect(h.admit('a')).toMatchObject({ kind: 'skip', reason: 'open' });
    h.recordSuccess('a');
    expect(h.admit('a').kind).toBe('try');
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('reopens at once when the probe fails', () => {
    const { h, advance } = health();
    h.recordFailure('a', 'x');
    h.recordFailure('a', 'x');
    advance(1_000);
    h.admit('a');
    h.recordFailure('a', 'x');
    expect(h.admit('a')).toMatchObject({ kind: 'skip', reason: 'open' });
  });

  it('resets the failure count on success', () => {
    const { h } = health();
    h.recordFailure('a', 'x');
    h.recordSuccess('a');
    h.recordFailure('a', 'x');
    expect(h.admit('a').kind).toBe('try');
  });

  it('skips a throttled region until its window passes without touching the breaker', () => {
    const { h, advance } = health();
    h.recordThrottle('a', 1_000_500, 'throttled');
    expect(h.admit('a')).toEqual({ kind: 'skip', reason: 'throttled', until: 1_000_500 });
    advance(500);
    expect(h.admit('a').kind).toBe('try');
    expect(h.snapshot()[0]).toMatchObject({ state: 'closed', lastError: { code: 'throttled' } });
  });

  it('reports state, windows and the last error in its snapshot', () => {
    const { h } = health();
    h.recordFailure('b', 'upstream_timeout');
    h.recordFailure('b', 'upstream_timeout');
    expect(h.snapshot()[1]).toMatchObject({
      name: 'b',
      state: 'open',
      consecutiveFailures: 2,
      openUntil: new Date(1_001_000).toISOString(),
      lastError: { code: 'upstream_timeout' },
    });
  });

  it('peeks without moving an open breaker to half-open', () => {
    const { h, advance } = health();
    h.recordFailure('a', 'x');
    h.recordFailure('a', 'x');
    advance(1_000);
    expect(h.peek('a').kind).toBe('probe');
    expect(h.peek('a').kind).toBe('probe');
    // Ready to retry, not taken: a peek leaves the trial to the next call.
    expect(h.snapshot()[0]).toMatchObject({ state: 'half-open', trial: 'ready' });
    expect(h.status('a').breaker).toBe('ready');
  });

  it('reports an open breaker past its cool-down as half-open and ready to retry, not as open', () => {
    const { h, advance } = health();
    h.recordFailure('a', 'region_unavailable');
    h.recordFailure('a', 'region_unavailable');
    expect(h.snapshot()[0]).toMatchObject({ state: 'open', openUntil: new Date(1_001_000).toISOString() });
    expect(h.status('a')).toEqual({ breaker: 'open', openUntil: 1_001_000 });
    advance(1_000);
    expect(h.snapshot()[0]).toMatchObject({ state: 'half-open', trial: 'ready' });
    expect(h.snapshot()[0]?.openUntil).toBeUndefined();
    expect(h.status('a')).toEqual({ breaker: 'ready' });
    h.admit('a');
    expect(h.snapshot()[0]).toMatchObject({ state: 'half-open', trial: 'in-flight' });
    expect(h.status('a')).toEqual({ breaker: 'trial' });
    h.recordSuccess('a');
    expect(h.status('a')).toEqual({ breaker: 'closed', lastSuccessAt: 1_001_000 });
  });
});
