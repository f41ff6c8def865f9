/**
 * The Microsoft AI Chat Protocol client (`@microsoft/ai-chat-protocol`, as Azure chat samples use it)
 * against the backend on the local host, streamed and not. The client posts to its endpoint for a
 * whole answer and to `<endpoint>/stream` for JSON lines, and throws the `error` object of an error body.
 */
import type * as ProtocolModule from '@microsoft/ai-chat-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';

// The package is ES modules only; this project compiles to CommonJS, so it is loaded with import().
type Protocol = typeof ProtocolModule;
type Client = InstanceType<Protocol['AIChatProtocolClient']>;

const HEARTBEAT_MS = 100;

let backend: Backend;
let client: Client;
let Protocol: Protocol;
beforeAll(async () => {
  Protocol = await import('@microsoft/ai-chat-protocol');
  backend = await startBackend({ CHAT_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  client = keyedClient(FUNCTION_KEY);
});
afterAll(async () => {
  await backend.close();
});

function keyedClient(key: string): Client {
  return new Protocol.AIChatProtocolClient(
    `${backend.host.url}/api/chat`,
    { key },
    { credentials: { apiKeyHeaderName: 'x-functions-key' } },
  );
}

const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

async function streamedText(stream: AsyncIterable<{ delta: { content?: string }; context?: object }>) {
  let text = '';
  let context: object | undefined;
  for await (const delta of stream) {
    text += delta.delta.content ?? '';
    context = delta.context ?? context;
  }
  return { text, context };
}

describe('the AI Chat Protocol client against the backend', () => {
  it('gets a whole answer with region, usage and the session state back', async () => {
    const completion = await client.getCompletion(question, { sessionState: { thread: 7 } });
    expect(completion.message.role).toBe('assistant');
    expect(completion.message.content.length).toBeGreaterThan(10);
    expect(completion.sessionState).toEqual({ thread: 7 });
    expect(completion.context).toMatchObject({
      model: 'gpt-4o',
      region: 'eastus2',
      attempts: 1,
      finishReason: 'stop',
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) },
    });
  });

  it('streams the same answer delta by delta, ending with the context and session state', async () => {
    const whole = await client.getCompletion(question);
    const stream = await client.getStreamedCompletion(question, { sessionState: 'abc' });
    const deltas: { delta: { content?: string }; context?: object; sessionState?: unknown }[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.delta.content ?? '').join('')).toBe(whole.message.content);
    expect(deltas.at(-1)).toMatchObject({
      sessionState: 'abc',
      context: { region: 'eastus2', finishReason: 'stop' },
    });
  });

  it('passes the model choice and parameters in context', async () => {
    const completion = await client.getCompletion(question, { context: { model: 'gpt-4o-mini', max_tokens: 5 } });
    expect(completion.context).toMatchObject({ model: 'gpt-4o-mini', finishReason: 'length' });
  });

  it('throws the error object of the backend error body, streamed or not', async () => {
    const expected = { code: 'unknown_model', message: expect.stringContaining('Unknown model') };
    await expect(client.getCompletion(question, { context: { model: 'nope' } })).rejects.toMatchObject(expected);
    await expect(client.getStreamedCompletion(question, { context: { model: 'nope' } })).rejects.toMatchObject(
      expected,
    );
  });

  it('is refused with a wrong function key, the reason in the error it throws', async () => {
    // The local host's 401 carries the error body; Azure's empty 401 gives this client `code: '401'` instead.
    await expect(keyedClient('wrong').getCompletion(question)).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/^The function key was rejected: /),
    });
  });

  it('reads a stream that begins with blank keep-alive lines while the region is slow', async () => {
    backend.primary.setFault({ kind: 'latency', latencyMs: HEARTBEAT_MS * 5 });
    try {
      const raw = await fetch(`${backend.host.url}/api/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
        body: JSON.stringify({ messages: question }),
      });
      expect(raw.status).toBe(200);
      expect(raw.headers.get('cache-control')).toBe('no-cache');
      expect(await raw.text()).toMatch(/^\n+\{"delta"/);

      const { text, context } = await streamedText(await client.getStreamedCompletion(question));
      expect(text.length).toBeGreaterThan(10);
      expect(context).toMatchObject({ region: 'eastus2' });
    } finally {
      backend.primary.setFault({ kind: 'none' });
    }
  });
});
