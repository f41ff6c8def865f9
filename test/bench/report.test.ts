import { describe, expect, it } from 'vitest';
import { interleavedSides } from '../../bench/load';
import { portkeyGoals, portkeyNotes, type LevelResult, type SideResult } from '../../bench/report';

function side(rps: number, p50: number, p99: number): SideResult {
  return { rps, p50, p99, failures: 0, requests: 100 };
}

/** A level with the given backend side beside direct (1000 rps, p50 1 ms, p99 100 ms) and Portkey (100 rps). */
function level(concurrency: number, backend: SideResult): LevelResult {
  return {
    concurrency,
    direct: side(1000, 1, 100),
    portkey: side(100, 3, 300),
    backend,
    backendCpuMsPerRequest: 0.5,
    portkeyCpuMsPerRequest: 1,
  };
}

function levels(backendRps: number, p50AtOne: number, p99At256: number): LevelResult[] {
  return [
    level(1, side(backendRps, p50AtOne, 10)),
    level(16, side(backendRps, 5, 10)),
    level(64, side(backendRps, 5, 10)),
    level(256, side(backendRps, 5, p99At256)),
  ];
}

describe('bench report: goals against Portkey', () => {
  it.each([
    ['all met', levels(150, 1.9, 200), [true, true, true]],
    ['throughput just under 1.5× Portkey', levels(149, 1.9, 200), [false, true, true]],
    ['1 ms added at concurrency 1', levels(150, 2, 200), [true, false, true]],
    ['p99 at 256 over 2× direct', levels(150, 1.9, 201), [true, true, false]],
  ])('%s', (_name, measured, expected) => {
    expect(portkeyGoals(measured).map((row) => row[3])).toEqual(expected);
  });

  it('counts a missing level as missed, not met', () => {
    expect(portkeyGoals([]).map((row) => row[3])).toEqual([false, false, false]);
  });

  it('shows the measured ratio and both throughputs in the throughput row', () => {
    const [row] = portkeyGoals(levels(150, 1.9, 200));
    expect(row?.[2]).toBe(
      'c=16: 1.50× (backend 150 rps, Portkey 100 rps); c=64: 1.50× (backend 150 rps, Portkey 100 rps)',
    );
  });

  it('explains a missed throughput goal with the CPU per request of both processes, and says nothing when met', () => {
    expect(portkeyNotes(levels(120, 1, 100)).join('')).toContain('c=16: backend 0.50 ms, Portkey 1.00 ms');
    expect(portkeyNotes(levels(150, 1, 100))).toEqual([]);
  });
});

describe('bench load: interleaved sides', () => {
  it('runs the sides in order and then reversed, a half each time', async () => {
    const order: string[] = [];
    const halves = await interleavedSides(['direct', 'portkey', 'backend'] as const, (name) => {
      order.push(name);
      return Promise.resolve(order.length);
    });
    expect(order).toEqual(['direct', 'portkey', 'backend', 'backend', 'portkey', 'direct']);
    expect(halves).toEqual({ direct: [1, 6], portkey: [2, 5], backend: [3, 4] });
  });
});
