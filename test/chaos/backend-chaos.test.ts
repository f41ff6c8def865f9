/**
 * Chaos through the whole backend: the local host with the real function files, the official
 * `openai` client as the caller, and each simulator fault switched on and off on the primary while requests
 * are in flight. The breaker threshold is high and throttles expire at once, so that the test needs no clock:
 * every request tries the primary first and the answer's `x-chat-region` shows where it went.
 */
import { APIError, type OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, type Fault } from '../../simulator';
import { startBackend, type Backend } from '../e2e/backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_BREAKER_FAILURES: '100', CHAT_ATTEMPT_TIMEOUT_MS: '1000' });
  // Warm both paths (the simulator's tokenizer, the backend's first request) so that no cold start counts
  // against the 1 s attempt limit.
  countTokens('warm up');
  await backend.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
});
afterAll(async () => {
  await backend.close();
});

const messages = [{ role: 'user' as const, content: 'Tell me about failover.' }];

type Outcome = { readonly ok: true; readonly region: string } | { readonly ok: false; readonly error: string };

async function ask(openai: OpenAI, streamed: boolean): Promise<Outcome> {
  try {
    if (!streamed) {
      const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
      return data.choices[0]?.message.content
        ? { ok: true, region: response.headers.get('x-chat-region') ?? '' }
        : { ok: false, error: 'empty answer' };
    }
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
    return text ? { ok: true, region: response.headers.get('x-chat-region') ?? '' } : { ok: false, error: 'empty' };
  } catch (error) {
    // The error body's details list each region tried (diagnostics are on locally), should this ever fail.
    const details = error instanceof APIError ? ` ${JSON.stringify(error.error)}` : '';
    return { ok: false, error: `${error instanceof Error ? error.message : String(error)}${details}` };
  }
}

const cases: { name: string; fault: Fault; streams: boolean }[] = [
  { name: 'outage (503)', fault: { kind: 'outage' }, streams: true },
  { name: 'outage, connections refused', fault: { kind: 'outage', mode: 'refuse' }, streams: true },
  { name: 'throttle (429)', fault: { kind: 'throttle', retryAfterMs: 0 }, streams: true },
  { name: 'latency beyond the attempt limit', fault: { kind: 'latency', latencyMs: 60_000 }, streams: true },
  { name: 'error500', fault: { kind: 'error500' }, streams: true },
  { name: 'reset-midstream (non-streamed calls)', fault: { kind: 'reset-midstream' }, streams: false },
];

const wave = (c: { streams: boolean }, count: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => ask(backend.openai, c.streams && i % 2 === 1)));
const lost = (outcomes: readonly Outcome[]) => outcomes.filter((o) => !o.ok);
const regions = (outcomes: readonly Outcome[]) => [...new Set(outcomes.map((o) => (o.ok ? o.region : 'lost')))];

describe('chaos through the backend', () => {
  it.each(cases)('loses no request while $name is switched on and off', async (c) => {
    backend.primary.setFault(c.fault);
    const during = await wave(c, 16);
    expect(lost(during)).toEqual([]);
    expect(regions(during)).toEqual(['swedencentral']);

    backend.primary.setFault({ kind: 'none' });
    const after = await wave(c, 8);
    expect(lost(after)).toEqual([]);
    expect(regions(after)).toEqual(['eastus2']);

    // Flipped while in flight: whichever region answers, every request is answered.
    const flipping = Promise.all([wave(c, 8), wave(c, 8)]);
    backend.primary.setFault(c.fault);
    const flipped = (await flipping).flat();
    backend.primary.setFault({ kind: 'none' });
    expect(lost(flipped)).toEqual([]);
  });
});
