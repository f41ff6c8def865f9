/**
 * Chaos at small scale: concurrent requests while each fault of the simulator is switched on and
 * off on the primary region, through the chat service as production wires it. The secondary stays healthy,
 * so no request may be lost. Time is the manual health clock; the only real wait is the 1 s attempt
 * limit in the latency case (the primary's delay is a gate that never opens by itself).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens, type Fault } from '../../simulator';
import type { ChatService } from '../../shared/chat-service';
import { ChatError } from '../../shared/errors';
import { collect, hello, startTwoRegions, type TwoRegions } from '../shared/two-regions';

/** Delays of the primary (only the latency fault asks for one): held until the test lets go. */
let gates: (() => void)[] = [];
const gatedSleep = () => new Promise<void>((resolve) => gates.push(resolve));

let regions: TwoRegions;
beforeAll(() => {
  // The simulator builds its tokenizer on first use; not inside the 1 s attempt limit of the latency case.
  countTokens('warm up');
});
beforeEach(async () => {
  gates = [];
  regions = await startTwoRegions({ primary: { sleep: gatedSleep } });
});
afterEach(async () => {
  for (const open of gates) open();
  await regions.close();
});

interface Case {
  readonly name: string;
  readonly fault: Fault;
  /**
   * Whether streams are sent too. reset-midstream breaks streams after their first byte: they are continued
   * from the other region but stay reported under the primary, so they are tested apart (stream-continuation.test.ts).
   */
  readonly streams: boolean;
  readonly settings?: Record<string, string>;
  /** Manual-clock time after which the primary is tried again (breaker cool-down or retry-after). */
  readonly recoverMs: number;
}

const cases: Case[] = [
  { name: 'outage (503)', fault: { kind: 'outage' }, streams: true, recoverMs: 30_000 },
  { name: 'outage, connections refused', fault: { kind: 'outage', mode: 'refuse' }, streams: true, recoverMs: 30_000 },
  { name: 'throttle (429)', fault: { kind: 'throttle', retryAfterMs: 5_000 }, streams: true, recoverMs: 5_000 },
  {
    name: 'latency beyond the attempt limit',
    fault: { kind: 'latency', latencyMs: 60_000 },
    streams: true,
    settings: { CHAT_ATTEMPT_TIMEOUT_MS: '1000' },
    recoverMs: 30_000,
  },
  { name: 'error500', fault: { kind: 'error500' }, streams: true, recoverMs: 30_000 },
  {
    name: 'reset-midstream (non-streamed calls)',
    fault: { kind: 'reset-midstream' },
    streams: false,
    recoverMs: 30_000,
  },
];

/** What one request came to: the region that served it, or the error that lost it. */
type Outcome = { readonly ok: true; readonly region: string } | { readonly ok: false; readonly error: string };

/** One request, streamed or not; a stream counts only when its whole answer arrived. */
async function request(chat: ChatService, id: string, streamed: boolean): Promise<Outcome> {
  try {
    if (!streamed) {
      const result = await chat.complete({ ...hello, requestId: id });
      return result.completion.choices[0]?.message.content
        ? { ok: true, region: result.region }
        : { ok: false, error: 'empty answer' };
    }
    const result = await chat.stream({ ...hello, requestId: id });
    return (await collect(result.chunks)).length > 0
      ? { ok: true, region: result.region }
      : { ok: false, error: 'empty stream' };
  } catch (error) {
    // The attempts say which region failed how, should this ever fail.
    const attempts = error instanceof ChatError ? ` ${JSON.stringify(error.attempts)}` : '';
    return { ok: false, error: `${error instanceof Error ? error.message : String(error)}${attempts}` };
  }
}

/** `count` requests at once, every other one streamed when the case allows it. */
function wave(chat: ChatService, c: Case, label: string, count: number): Promise<Outcome>[] {
  return Array.from({ length: count }, (_, i) => request(chat, `${label}-${i}`, c.streams && i % 2 === 1));
}

const lost = (outcomes: readonly Outcome[]) => outcomes.filter((o) => !o.ok);
const regionsOf = (outcomes: readonly Outcome[]) => [...new Set(outcomes.map((o) => (o.ok ? o.region : 'lost')))];

describe.each(cases)('chaos: $name on the primary', (c) => {
  it('loses no request before, during and after the fault, and traffic returns to the primary', async () => {
    const chat = regions.service(c.settings);

    const before = await Promise.all(wave(chat, c, 'before', 12));
    expect(lost(before)).toEqual([]);
    expect(regionsOf(before)).toEqual(['eastus2']);

    regions.primary.setFault(c.fault);
    const during = await Promise.all(wave(chat, c, 'during', 16));
    expect(lost(during)).toEqual([]);
    expect(regionsOf(during)).toEqual(['swedencentral']);
    // The fault was really met: the primary was called and failed (or is still held, for latency).
    expect(chat.health.snapshot()[0]?.lastError).toBeDefined();

    regions.primary.setFault({ kind: 'none' });
    for (const open of gates.splice(0)) open();
    regions.clock.advance(c.recoverMs);
    const after = await Promise.all(wave(chat, c, 'after', 12));
    expect(lost(after)).toEqual([]);
    // The first one in is the probe; by the next request the primary is trusted again.
    const next = await request(chat, 'next', false);
    expect(next).toEqual({ ok: true, region: 'eastus2' });
    expect(chat.health.snapshot()[0]).toMatchObject({ name: 'eastus2', state: 'closed' });
  });

  it('loses no request while the fault flips on and off under concurrent requests', async () => {
    const chat = regions.service(c.settings);
    const inFlight: Promise<Outcome>[] = [];
    // Five rounds: launch a handful, flip the fault, launch more, all without waiting, so that flips land while
    // earlier requests are still on the wire. The clock moves on so open breakers and throttles expire meanwhile.
    for (let round = 0; round < 5; round++) {
      inFlight.push(...wave(chat, c, `on-${round}`, 6));
      regions.primary.setFault(c.fault);
      inFlight.push(...wave(chat, c, `mid-${round}`, 6));
      regions.primary.setFault({ kind: 'none' });
      regions.clock.advance(c.recoverMs);
      if (round % 2 === 1) for (const open of gates.splice(0)) open();
    }
    const outcomes = await Promise.all(inFlight);
    expect(lost(outcomes)).toEqual([]);
    expect(outcomes).toHaveLength(60);
  });
});

describe('chaos: a fault on the secondary alone', () => {
  it.each(cases)('leaves traffic on the healthy primary untouched ($name)', async (c) => {
    regions.secondary.setFault(c.fault);
    const chat = regions.service(c.settings);
    const outcomes = await Promise.all(wave(chat, c, 'primary-only', 16));
    expect(lost(outcomes)).toEqual([]);
    expect(regionsOf(outcomes)).toEqual(['eastus2']);
    expect(regions.secondary.stats().total).toBe(0);
  });
});

describe('chaos: faults that move from one region to the other', () => {
  // A region whose breaker is open is tried as a last resort when every other region has just failed:
  // the recovered primary answers before its cool-down ends instead of the request being lost.
  it('serves from the recovered primary when the secondary fails while the primary breaker is open', async () => {
    const chat = regions.service();
    regions.primary.setFault({ kind: 'outage' });
    await Promise.all(wave(chat, cases[0] as Case, 'open-primary', 4));
    expect(chat.health.snapshot()[0]?.state).toBe('open');

    regions.primary.setFault({ kind: 'none' });
    regions.secondary.setFault({ kind: 'outage' });
    const outcomes = await Promise.all(wave(chat, cases[0] as Case, 'moved', 4));
    expect(lost(outcomes)).toEqual([]);
  });
});
