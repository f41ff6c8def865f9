import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../shared/config';
import {
  LAG_SAMPLE_INTERVAL_MS,
  LoadShedder,
  OVERLOAD_DEFAULTS,
  overloadSettings,
  shedRetryAfterMs,
  smoothLag,
  startLagSampler,
  type OverloadChange,
} from '../../../shared/resilience/load-shedder';

/**
 * A shedder fed by hand (no timer), with one request in flight (a lone request is never shed): its changes,
 * what it told telemetry, and what it logged.
 */
function shedder(lagMs = 100, random = 0) {
  const changes: OverloadChange[] = [];
  const shedRoutes: string[] = [];
  const logged: string[] = [];
  let samplers = 0;
  const s = new LoadShedder({
    settings: { lagMs },
    observer: { onOverloadChange: (c) => changes.push(c), onShed: (r) => shedRoutes.push(r.route) },
    logger: { info: (m) => logged.push(`info ${m}`), warn: (m) => logged.push(`warn ${m}`), error() {} },
    sampler: () => {
      samplers += 1;
      return { stop() {} };
    },
    random: () => random,
  });
  s.admit('held');
  return { s, changes, shedRoutes, logged, samplers: () => samplers };
}

/** Feeds `count` samples of `lagMs`, each taken as an interval timer that fired that late would take it. */
function feed(s: LoadShedder, lagMs: number, count = 1): void {
  for (let i = 0; i < count; i++) s.observe(lagMs);
}

describe('the smoothed event-loop lag', () => {
  it.each([
    // previous, sample, elapsed -> smoothed
    [0, 0, 50, 0],
    [0, 1000, 0, 0],
    // A sample's own stall counts for at most one sampling interval (50 ms); the rest of its time in full.
    [0, 100, 1000, 100 * (1 - Math.exp(-0.95))],
    [200, 0, 50, 200 * Math.exp(-0.05)],
    [0, 10_000, 10_050, 10_000 * (1 - Math.exp(-0.1))],
  ])('from %d ms, a sample of %d ms taken %d ms later gives %d ms', (previous, sample, elapsed, expected) => {
    expect(smoothLag(previous, sample, elapsed)).toBeCloseTo(expected, 6);
  });
});

describe('load shedding', () => {
  it('admits every request while the smoothed lag stays under CHAT_SHED_LAG_MS', () => {
    const { s, changes } = shedder(100);
    feed(s, 60, 200);
    expect(s.admit('chat-post')).toBeUndefined();
    expect(s.state()).toEqual({ state: 'admitting', lagMs: 60, thresholdMs: 100, inFlight: 2, shed: 0 });
    expect(changes).toEqual([]);
  });

  it('does not shed for one long pause (a garbage collection, code loading) that the smoothing absorbs', () => {
    const { s } = shedder(100);
    feed(s, 330);
    expect(s.state()).toMatchObject({ state: 'admitting', lagMs: 31 }); // 330 * (1 - e^-0.1)
    expect(s.admit('chat-post')).toBeUndefined();
  });

  it('sheds once the smoothed lag reaches the threshold: counts each request, tells telemetry, logs the change once', () => {
    const { s, changes, shedRoutes, logged } = shedder(100);
    feed(s, 150, 15);
    expect(s.state()).toMatchObject({ state: 'shedding', thresholdMs: 100, shed: 0 });
    expect(s.admit('chat-post')).toMatchObject({ thresholdMs: 100 });
    expect(s.admit('openai-chat-completions-post')).toBeDefined();
    expect(s.state()).toMatchObject({ state: 'shedding', shed: 2 });
    expect(shedRoutes).toEqual(['chat-post', 'openai-chat-completions-post']);
    expect(changes).toEqual([expect.objectContaining({ shedding: true, thresholdMs: 100, shed: 0 })]);
    expect(logged).toEqual(['warn Overloaded: turning new requests away (503 overloaded)']);
  });

  it('keeps shedding until the smoothed lag is back under half the threshold (hysteresis), then admits again', () => {
    const { s, changes, logged } = shedder(100);
    feed(s, 1_000, 3);
    expect(s.state().state).toBe('shedding');
    s.admit('chat-post');
    feed(s, 60, 100); // under the threshold, but above the recovery mark
    expect(s.state()).toMatchObject({ state: 'shedding', lagMs: 60 });
    feed(s, 40, 100);
    expect(s.state()).toMatchObject({ state: 'admitting', lagMs: 40, shed: 1 });
    expect(s.admit('chat-post')).toBeUndefined();
    expect(changes.map((c) => [c.shedding, c.shed])).toEqual([
      [true, 0],
      [false, 1],
    ]);
    expect(logged.at(-1)).toBe('info No longer overloaded: admitting requests again');
  });

  it('does not flap while the lag hovers between the two marks', () => {
    const { s, changes } = shedder(100);
    feed(s, 120, 20);
    for (const lag of [90, 70, 95, 60, 85, 99, 55]) feed(s, lag, 10);
    expect(changes.map((c) => c.shedding)).toEqual([true]);
  });

  it('tells a shed request to come back when the lag would be under the recovery mark, with jitter', () => {
    const lagMs = smoothLag(0, 5_000, LAG_SAMPLE_INTERVAL_MS + 5_000);
    const calm = shedder(100, 0);
    feed(calm.s, 5_000);
    expect(calm.s.admit('chat-post')).toEqual({
      retryAfterMs: shedRetryAfterMs(lagMs, 50, 0),
      lagMs: Math.round(lagMs),
      thresholdMs: 100,
    });
    const jittered = shedder(100, 0.999);
    feed(jittered.s, 5_000);
    expect(jittered.s.admit('chat-post')?.retryAfterMs).toBe(shedRetryAfterMs(lagMs, 50, 0.999));
    expect(shedRetryAfterMs(lagMs, 50, 0)).toBe(2_254); // 1 s * ln(476 / 50), rounded up
  });

  it('admits a lone request even while the lag is over the threshold: it cannot be the overload', () => {
    const { s } = shedder(100);
    feed(s, 1_000, 3);
    expect(s.state()).toMatchObject({ state: 'shedding', inFlight: 1 });
    s.done();
    expect(s.admit('chat-post')).toBeUndefined();
    expect(s.admit('chat-post')).toBeDefined();
    s.done();
    s.done(); // one too many never counts below zero
    expect(s.state()).toMatchObject({ inFlight: 0, shed: 1 });
    expect(s.admit('chat-post')).toBeUndefined();
  });

  it('is off with CHAT_SHED_LAG_MS=0: no sampler, every request admitted, whatever the lag', () => {
    const { s, samplers } = shedder(0);
    feed(s, 60_000, 10);
    expect(samplers()).toBe(0);
    expect(s.admit('chat-post')).toBeUndefined();
    expect(s.state()).toEqual({ state: 'off' });
  });

  it('starts its sampler once and stops it on close', () => {
    let stopped = 0;
    const s = new LoadShedder({ settings: { lagMs: 100 }, sampler: () => ({ stop: () => (stopped += 1) }) });
    s.close();
    expect(stopped).toBe(1);
  });
});

describe('Retry-After of a shed request', () => {
  it.each([
    // smoothed lag, recovery mark, random -> ms
    [100, 50, 0, 1_000], // 1 s * ln 2 is under the 1 s floor
    [200, 50, 0, 1_387], // 1 s * ln 4
    [200, 50, 0.5, 1_560],
    [200, 50, 0.999, 1_733],
    [1_000, 50, 0, 2_996], // 1 s * ln 20
    [10_000_000, 50, 0, 10_000], // the 10 s ceiling
    [10_000_000, 50, 0.999, 12_498],
    [10, 50, 0, 1_000], // below the mark: the floor
  ])('at %d ms against a recovery mark of %d ms (random %d): %d ms', (lag, recovery, random, expected) => {
    expect(shedRetryAfterMs(lag, recovery, random)).toBe(expected);
  });
});

describe('the lag sampler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports how late its timer fired and the time since the last sample, until stopped', () => {
    vi.useFakeTimers();
    let clock = 0;
    const samples: [number, number][] = [];
    const sampler = startLagSampler({ onLag: (lag, elapsed) => samples.push([lag, elapsed]), now: () => clock });
    clock = LAG_SAMPLE_INTERVAL_MS;
    vi.advanceTimersByTime(LAG_SAMPLE_INTERVAL_MS);
    clock += LAG_SAMPLE_INTERVAL_MS + 300; // the loop was blocked for 300 ms before the timer could run
    vi.advanceTimersByTime(LAG_SAMPLE_INTERVAL_MS);
    sampler.stop();
    vi.advanceTimersByTime(10 * LAG_SAMPLE_INTERVAL_MS);
    expect(samples).toEqual([
      [0, LAG_SAMPLE_INTERVAL_MS],
      [300, LAG_SAMPLE_INTERVAL_MS + 300],
    ]);
  });

  it('never keeps the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const sampler = startLagSampler({ onLag: () => undefined });
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    sampler.stop();
  });
});

describe('CHAT_SHED_LAG_MS', () => {
  it('defaults to 100 ms, takes 0 to turn shedding off, and names itself when it is not a whole number of ms', () => {
    expect(overloadSettings({})).toEqual(OVERLOAD_DEFAULTS);
    expect(OVERLOAD_DEFAULTS.lagMs).toBe(100);
    expect(overloadSettings({ CHAT_SHED_LAG_MS: '0' })).toEqual({ lagMs: 0 });
    expect(overloadSettings({ CHAT_SHED_LAG_MS: ' 250 ' })).toEqual({ lagMs: 250 });
    for (const bad of ['fast', '-1', '1e3', '60001']) {
      expect(() => overloadSettings({ CHAT_SHED_LAG_MS: bad })).toThrow(ConfigError);
      expect(() => overloadSettings({ CHAT_SHED_LAG_MS: bad })).toThrow(/CHAT_SHED_LAG_MS/);
    }
  });
});
