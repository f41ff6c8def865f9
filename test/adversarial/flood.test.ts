/**
 * Attack: one signed-in user floods an instance with concurrent streams so that nobody else gets an answer (with a
 * per-process shedder that does not know who is calling, everybody is turned away alike). Each user may have at
 * most CHAT_CALLER_MAX_IN_FLIGHT requests running on an instance; the rest get 429 `too_many_in_flight` with
 * Retry-After before their body is read, and another user's chat answers 200. A stream counts until it ends or its
 * client leaves. The flood's streams are held open by the simulated regions stalling after their first chunk, so
 * what is in flight is known, never timed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useLocalStack } from './local-stack';

const LIMIT = 4;
const stack = useLocalStack({ CHAT_CALLER_MAX_IN_FLIGHT: String(LIMIT), CHAT_STREAM_IDLE_TIMEOUT_MS: '0' });

const held: AbortController[] = [];
afterEach(() => {
  for (const controller of held.splice(0)) controller.abort();
  stack.backend.primary.setFault({ kind: 'none' });
  stack.backend.secondary.setFault({ kind: 'none' });
});

const body = JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a long story' }] });

/** A stream the test holds open (its answer unread) until the test ends. */
async function openStream(headers: Record<string, string>): Promise<Response> {
  const controller = new AbortController();
  held.push(controller);
  return fetch(`${stack.api}/chat/stream`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
    signal: controller.signal,
  });
}

async function chat(headers: Record<string, string>): Promise<Response> {
  return fetch(`${stack.api}/chat`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
}

describe('one user flooding an instance with streams', () => {
  it('gets 429 too_many_in_flight with Retry-After past the limit, and another user’s chat answers 200', async () => {
    const mallory = await stack.signedIn('mallory-flood');
    for (const region of [stack.backend.primary, stack.backend.secondary])
      region.setFault({ kind: 'stall', afterChunks: 1 });
    const admitted = [];
    for (let i = 0; i < LIMIT; i++) admitted.push(await openStream(mallory));
    expect(admitted.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));

    const asked = stack.backend.primary.stats().total + stack.backend.secondary.stats().total;
    const flood = await Promise.all(Array.from({ length: 50 }, () => openStream(mallory)));
    expect(flood.map((r) => r.status)).toEqual(Array(50).fill(429));
    const refusal = (await flood[0]?.json()) as { error: { code: string; requestId: string } };
    expect(refusal.error.code).toBe('too_many_in_flight');
    expect(Number(flood[0]?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(flood[0]?.headers.get('retry-after-ms')).toMatch(/^\d+$/);
    // Refused before any model call, whatever the route.
    expect((await chat(mallory)).status).toBe(429);
    expect(stack.backend.primary.stats().total + stack.backend.secondary.stats().total).toBe(asked);

    for (const region of [stack.backend.primary, stack.backend.secondary]) region.setFault({ kind: 'none' });
    const alice = await chat(await stack.signedIn('alice-flood'));
    expect(alice.status).toBe(200);
  });

  it('frees a stream’s place once its client leaves, and once it ends', async () => {
    const mallory = await stack.signedIn('mallory-leaves');
    stack.backend.primary.setFault({ kind: 'stall', afterChunks: 1 });
    for (let i = 0; i < LIMIT; i++) expect((await openStream(mallory)).status).toBe(200);
    expect((await chat(mallory)).status).toBe(429);
    stack.backend.primary.setFault({ kind: 'none' });
    for (const controller of held.splice(0)) controller.abort();
    // The host hears of each client leaving on its own schedule: ask until the places are free.
    await vi.waitFor(async () => expect((await chat(mallory)).status).toBe(200), { timeout: 10_000, interval: 50 });
    // Streams read to their end free their place: twice the limit, one after another, all answered.
    for (let i = 0; i < 2 * LIMIT; i++) {
      const stream = await openStream(mallory);
      expect(stream.status).toBe(200);
      await stream.text();
    }
  });
});
