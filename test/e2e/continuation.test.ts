/**
 * Issue 14 end to end: the backend on the local host, the primary breaking answers after their first
 * byte (a reset at chunk 1, 2, 5 and 20, a stall), and the clients front ends use: the official `openai`
 * client on `/api/v1/chat/completions` and the AI Chat Protocol client on `/api/chat`, streamed and not.
 * Every answer must arrive whole, with the same text as an unbroken one. The secondary says the last 3
 * words again when it continues (as real models sometimes do), so the overlap removal is on trial too.
 * The breaker threshold is high so that no test here opens a breaker for the next (tests run shuffled).
 */
import type * as ProtocolModule from '@microsoft/ai-chat-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../simulator';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

type Protocol = typeof ProtocolModule;
type ProtocolClient = InstanceType<Protocol['AIChatProtocolClient']>;

const IDLE_MS = 300;
const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

let backend: Backend;
let protocol: ProtocolClient;
/** The answer to `question` when nothing breaks, read once before any fault. */
let whole: string;
beforeAll(async () => {
  const Protocol = await import('@microsoft/ai-chat-protocol');
  backend = await startBackend(
    // A non-streamed answer that stalls is bounded by the attempt limit (it covers the whole body).
    { CHAT_STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS), CHAT_ATTEMPT_TIMEOUT_MS: '1500', CHAT_BREAKER_FAILURES: '100' },
    { secondary: { continuationRepeatWords: 3 } },
  );
  protocol = new Protocol.AIChatProtocolClient(
    `${backend.host.url}/api/chat`,
    { key: FUNCTION_KEY },
    { credentials: { apiKeyHeaderName: 'x-functions-key' } },
  );
  const completion = await backend.openai.chat.completions.create({ model: 'gpt-4o', messages: question });
  whole = completion.choices[0]?.message.content ?? '';
});
afterEach(() => {
  backend.primary.setFault({ kind: 'none' });
  backend.secondary.setFault({ kind: 'none' });
});
afterAll(async () => {
  await backend.close();
});

async function openaiStreamed(): Promise<{ text: string; last: Record<string, unknown> | undefined }> {
  const stream = await backend.openai.chat.completions.create({
    model: 'gpt-4o',
    messages: question,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let last: Record<string, unknown> | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    last = chunk as unknown as Record<string, unknown>;
  }
  return { text, last };
}

async function openaiWhole(): Promise<string> {
  const completion = await backend.openai.chat.completions.create({ model: 'gpt-4o', messages: question });
  return completion.choices[0]?.message.content ?? '';
}

async function protocolStreamed(): Promise<{ text: string; context: Record<string, unknown> | undefined }> {
  let text = '';
  let context: Record<string, unknown> | undefined;
  for await (const delta of await protocol.getStreamedCompletion(question)) {
    text += delta.delta.content ?? '';
    context = (delta.context as Record<string, unknown> | undefined) ?? context;
  }
  return { text, context };
}

const faults: [string, Fault][] = [
  ['a reset after 1 chunk', { kind: 'reset-midstream', afterChunks: 1 }],
  ['a reset after 2 chunks', { kind: 'reset-midstream', afterChunks: 2 }],
  ['a reset after 5 chunks', { kind: 'reset-midstream', afterChunks: 5 }],
  ['a reset after 20 chunks', { kind: 'reset-midstream', afterChunks: 20 }],
  ['a stall after 3 chunks', { kind: 'stall', afterChunks: 3 }],
];

const served = [
  { region: 'eastus2', chars: expect.any(Number), ended: expect.stringMatching(/^(reset|stall)$/) },
  { region: 'swedencentral', chars: expect.any(Number), ended: 'finished' },
];

describe.each(faults)('with %s on the primary', (_name, fault) => {
  it('streams the whole answer to the openai client, the last chunk saying which region sent which part', async () => {
    backend.primary.setFault(fault);
    const streams = await Promise.all([openaiStreamed(), openaiStreamed(), openaiStreamed()]);
    for (const { text, last } of streams) {
      expect(text).toBe(whole);
      expect(last?.['x_served_by']).toEqual(served);
      expect(last?.['usage']).toMatchObject({ completion_tokens: expect.any(Number) });
    }
  });

  it('streams the whole answer to the AI Chat Protocol client, the final context saying which region sent which part', async () => {
    backend.primary.setFault(fault);
    const streams = await Promise.all([protocolStreamed(), protocolStreamed(), protocolStreamed()]);
    for (const { text, context } of streams) {
      expect(text).toBe(whole);
      expect(context).toMatchObject({ region: 'eastus2', finishReason: 'stop', parts: served });
    }
  });

  it('answers non-streamed requests whole from the other region', async () => {
    backend.primary.setFault(fault);
    expect(await openaiWhole()).toBe(whole);
    expect((await protocol.getCompletion(question)).message.content).toBe(whole);
  });
});

describe('when every region breaks mid-answer', () => {
  it('ends the openai stream with stream_interrupted after the bounded continuations', async () => {
    backend.primary.setFault({ kind: 'reset-midstream', afterChunks: 2 });
    backend.secondary.setFault({ kind: 'stall', afterChunks: 2 });
    let text = '';
    const consumed = (async () => {
      const stream = await backend.openai.chat.completions.create({
        model: 'gpt-4o',
        messages: question,
        stream: true,
      });
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })();
    await expect(consumed).rejects.toMatchObject({ error: { code: 'stream_interrupted' } });
    // Three parts (the first call and two continuations) got through before it gave up.
    expect(whole.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(0);
  });

  it('ends the chat protocol stream with its error object', async () => {
    backend.primary.setFault({ kind: 'stall', afterChunks: 1 });
    backend.secondary.setFault({ kind: 'reset-midstream', afterChunks: 1 });
    await expect(protocolStreamed()).rejects.toMatchObject({ code: 'stream_interrupted' });
  });
});
