import { describe, expect, it } from 'vitest';
import { RegionHealth } from '../../../shared/region-health';
import { skipWaits, throttleWait } from '../../../shared/resilience/throttle-wait';

const NOW = 1_000_000;
const regions = ['eastus2', 'swedencentral'];

function health(throttledForMs: Record<string, number>) {
  const h = new RegionHealth({ regions, failureThreshold: 1, cooldownMs: 30_000, now: () => NOW });
  for (const [region, ms] of Object.entries(throttledForMs)) h.recordThrottle(region, NOW + ms, 'throttled');
  return h;
}

describe('throttleWait', () => {
  it.each([
    ['no region throttled', {}, 2_000, NOW + 60_000, undefined],
    ['the soonest region back within the limit', { eastus2: 1_500, swedencentral: 900 }, 2_000, NOW + 60_000, 900],
    ['a wait over the limit', { eastus2: 5_000 }, 2_000, NOW + 60_000, undefined],
    ['a wait past the deadline', { eastus2: 1_500 }, 2_000, NOW + 1_000, undefined],
    ['a wait of exactly the limit', { eastus2: 2_000 }, 2_000, NOW + 60_000, 2_000],
  ] as const)('%s', (_name, throttled, maxWaitMs, deadline, expected) => {
    expect(throttleWait(health(throttled), regions, { maxWaitMs, deadline })).toBe(expected);
  });
});

describe('skipWaits', () => {
  it('lists the time until each region skipped for the given reason may be tried again', () => {
    const h = health({ eastus2: 3_000 });
    h.recordFailure('swedencentral', 'region_unavailable');
    expect(skipWaits(h, regions, 'throttled')).toEqual([3_000]);
    expect(skipWaits(h, regions, 'open')).toEqual([30_000]);
  });
});
