import { describe, expect, it } from 'vitest';
import {
  mergeStreamLegs,
  perIdleStream,
  streamedGoals,
  streamedSection,
  type StreamLeg,
  type StreamedLevel,
  type StreamedResult,
} from '../../bench/streamed';

/** `streams` streams of 64 chunks in `elapsedMs`, `failures` of them failed (no chunks). */
function leg(streams: number, elapsedMs: number, failures = 0, errors: string[] = []): StreamLeg {
  return { streams, failures, chunks: (streams - failures) * 64, elapsedMs, errors };
}

/** Direct at 1000 streams/s; the backend at `backendPerSecond` streams/s using `cpuMicrosPerChunk` per chunk. */
function level(concurrency: number, backendPerSecond: number, cpuMicrosPerChunk: number): StreamedLevel {
  const backend = leg(1000, (1000 / backendPerSecond) * 1000);
  return {
    concurrency,
    direct: leg(1000, 1000),
    portkey: leg(1000, 500, 1000, ['500 status code (no body)']),
    backend,
    backendCpuMicros: cpuMicrosPerChunk * backend.chunks,
    portkeyCpuMicros: 1000,
    heldMs: [0.2, 0.4, 3],
  };
}

function result(levels: StreamedLevel[]): StreamedResult {
  return {
    tokens: 64,
    levels,
    idle: {
      streams: 64,
      open: 64,
      rssBefore: 100 * 2 ** 20,
      rssOpen: 100 * 2 ** 20 + 64 * 20 * 1024,
      heapBefore: 20 * 2 ** 20,
      heapOpen: 20 * 2 ** 20 + 64 * 5 * 1024,
      errors: [],
    },
  };
}

describe('bench streamed: goals against the direct call', () => {
  it.each([
    ['all met', [level(16, 800, 20), level(64, 900, 10)], [true, true]],
    ['throughput just under 0.8× at 64', [level(16, 800, 20), level(64, 799, 10)], [false, true]],
    ['throughput under 0.8× at 16', [level(16, 150, 20), level(64, 900, 10)], [false, true]],
    ['CPU per chunk just over 20 µs at 16', [level(16, 800, 20.5), level(64, 900, 10)], [true, false]],
    ['a level missing', [level(16, 800, 10)], [false, false]],
  ])('%s', (_name, levels, expected) => {
    expect(streamedGoals(result(levels)).map((row) => row[3])).toEqual(expected);
  });

  it('states the measured ratio and CPU per chunk', () => {
    const [throughput, cpu] = streamedGoals(result([level(16, 150, 47), level(64, 600, 30)]));
    expect(throughput?.[2]).toBe(
      'c=16: 0.15× (backend 150, direct 1000 streams/s); c=64: 0.60× (backend 600, direct 1000 streams/s)',
    );
    expect(cpu?.[2]).toBe('c=16: 47.0 µs; c=64: 30.0 µs');
  });
});

describe('bench streamed: legs and memory', () => {
  it('merges halves by summing counts and time, keeping distinct errors', () => {
    expect(mergeStreamLegs([leg(10, 100, 1, ['a', 'b']), leg(20, 300, 2, ['b', 'c'])])).toEqual({
      streams: 30,
      failures: 3,
      chunks: 27 * 64,
      elapsedMs: 400,
      errors: ['a', 'b', 'c'],
    });
  });

  it.each([
    [1000, 3000, 4, 500],
    [3000, 1000, 4, -500],
    [1000, 3000, 0, Number.NaN],
  ])('memory per idle stream from %d to %d bytes over %d streams is %d', (before, open, streams, expected) => {
    expect(perIdleStream(before, open, streams)).toBe(expected);
  });

  it('renders each side of each level, Portkey’s failures as they are, and memory per idle stream', () => {
    const text = streamedSection(result([level(16, 800, 20), level(64, 900, 10)])).join('\n');
    expect(text).toContain('| 16 | backend | 1000 | 0 | 800 | 0.80 | 51200 | 20.0 µs | 50000 | 0.40 / 3.00 ms |');
    expect(text).toMatch(/\| 64 \| Portkey [^|]+ \| 1000 \| 1000 \| 0 \| 0\.00 \| 0 \| n\/a \| – \| – \|/);
    expect(text).toContain('c=16 portkey: `500 status code (no body)`');
    expect(text).toContain('resident set 20.0 KiB per stream');
    expect(text).toContain('V8 heap 5.0 KiB per stream');
  });
});
