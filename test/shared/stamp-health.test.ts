import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config';
import type { RegionStatus } from '../../shared/region-health';
import {
  canServe,
  healthCheckSettings,
  regionVerdict,
  type LastCheck,
  type RegionVerdict,
} from '../../shared/stamp-health';

const NOW = 1_000_000;
const INTERVAL = 15_000;
const recent = NOW - INTERVAL + 1;
const stale = NOW - INTERVAL;
const ok = (at: number): LastCheck => ({ ok: true, at });
const failed = (at: number): LastCheck => ({ ok: false, code: 'region_unavailable', at });

describe('regionVerdict', () => {
  it.each<[string, RegionStatus, LastCheck | undefined, RegionVerdict]>([
    ['a fresh instance knows nothing: check', { breaker: 'closed' }, undefined, { kind: 'unchecked' }],
    ['a chat succeeded lately', { breaker: 'closed', lastSuccessAt: recent }, undefined, { kind: 'serving' }],
    [
      'the last success is a whole interval old',
      { breaker: 'closed', lastSuccessAt: stale },
      undefined,
      { kind: 'unchecked' },
    ],
    ['its check failed lately', { breaker: 'closed' }, failed(recent), { kind: 'failing', code: 'region_unavailable' }],
    ['its failed check is a whole interval old', { breaker: 'closed' }, failed(stale), { kind: 'unchecked' }],
    [
      'a chat succeeded after the failed check',
      { breaker: 'closed', lastSuccessAt: recent },
      failed(recent),
      { kind: 'serving' },
    ],
    ['cooling down', { breaker: 'open', openUntil: NOW + 1 }, failed(recent), { kind: 'open', until: NOW + 1 }],
    [
      'past the cool-down, no check lately: the check is the trial',
      { breaker: 'ready' },
      failed(stale),
      { kind: 'unchecked' },
    ],
    [
      'past the cool-down with a failed check lately',
      { breaker: 'ready' },
      failed(recent),
      { kind: 'failing', code: 'region_unavailable' },
    ],
    ['past the cool-down with a good check lately', { breaker: 'ready' }, ok(recent), { kind: 'serving' }],
    ['a chat is making the trial', { breaker: 'trial' }, failed(recent), { kind: 'trial' }],
    ['throttled: up, only busy', { breaker: 'closed', throttledUntil: NOW + 1 }, undefined, { kind: 'throttled' }],
    [
      'throttled with its breaker open',
      { breaker: 'open', openUntil: NOW + 1, throttledUntil: NOW + 1 },
      undefined,
      { kind: 'throttled' },
    ],
  ])('%s', (_, status, lastCheck, expected) => {
    expect(regionVerdict(status, lastCheck, NOW, INTERVAL)).toEqual(expected);
  });

  it.each<[RegionVerdict, boolean]>([
    [{ kind: 'serving' }, true],
    [{ kind: 'throttled' }, true],
    [{ kind: 'trial' }, true],
    [{ kind: 'open', until: NOW }, false],
    [{ kind: 'failing', code: 'key_rejected' }, false],
    [{ kind: 'unchecked' }, false],
  ])('lets the stamp serve with %o: %s', (verdict, expected) => {
    expect(canServe(verdict)).toBe(expected);
  });
});

describe('healthCheckSettings', () => {
  it('defaults to a check at most every 15 s, each step within 5 s', () => {
    expect(healthCheckSettings({})).toEqual({ intervalMs: 15_000, timeoutMs: 5_000 });
  });

  it('names the setting that is out of range', () => {
    expect(() => healthCheckSettings({ CHAT_HEALTH_CHECK_INTERVAL_MS: '5' })).toThrow(ConfigError);
    expect(() => healthCheckSettings({ CHAT_HEALTH_CHECK_INTERVAL_MS: '5' })).toThrow(/CHAT_HEALTH_CHECK_INTERVAL_MS/);
    expect(() => healthCheckSettings({ CHAT_HEALTH_CHECK_TIMEOUT_MS: 'soon' })).toThrow(/CHAT_HEALTH_CHECK_TIMEOUT_MS/);
  });
});
