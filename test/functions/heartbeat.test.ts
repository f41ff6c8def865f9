/**
 * Heartbeats on the two streaming endpoints, on a hand-stepped clock: the chat service is a small fake
 * whose answer and chunks the test releases one by one, so every keep-alive is where the test puts it.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { createOpenAIChatHandler } from '../../functions/openai-chat-completions-post';
import type { ChatService, StreamResult } from '../../shared/chat-service';
import { loadConfig } from '../../shared/config';
import { ChatError } from '../../shared/errors';
import { withHeartbeats } from '../../shared/http/streaming';
import { ManualTimers } from '../shared/manual-timers';
import { header, invocation, jsonRequest } from './http';

/** An async iterable the test feeds by hand. */
class Channel<T> implements AsyncIterable<T> {
  readonly #values: T[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  returned = false;

  push(value: T): void {
    this.#values.push(value);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        const value = this.#values.shift();
        if (value !== undefined) {
          yield value;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.returned = this.#values.length > 0 || !this.#ended;
    }
  }
}

function chunk(content: string | null, finishReason: 'stop' | null = null): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'gpt-4o',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finishReason }],
  };
}

/** A chat service whose `stream()` answers when the test calls `answer` or `fail`. */
function fakeChat(heartbeatMs = '15000') {
  const config = loadConfig({
    CHAT_REGIONS: '[{"name":"eastus2","endpoint":"http://127.0.0.1:9/","deployments":{"gpt-4o":"gpt-4o"}}]',
    AZURE_OPENAI_API_KEY: 'k',
    CHAT_HEARTBEAT_MS: heartbeatMs,
  });
  let answer: (result: StreamResult) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const answered = new Promise<StreamResult>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  const chunks = new Channel<ChatCompletionChunk>();
  const chat = { config, stream: () => answered } as unknown as ChatService;
  return {
    chat,
    chunks,
    answer() {
      answer({ model: 'gpt-4o', region: 'swedencentral', attempts: [], requestId: 'r-1', chunks, parts: () => [] });
    },
    fail,
  };
}

const decoder = new TextDecoder();

/** Reads a streamed body frame by frame. */
function reader(response: HttpResponseInit) {
  const iterator = (response.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return {
    iterator,
    async next(): Promise<string | undefined> {
      const step = await iterator.next();
      return step.done === true ? undefined : decoder.decode(step.value);
    },
    async rest(): Promise<string> {
      let text = '';
      for (let step = await iterator.next(); step.done !== true; step = await iterator.next())
        text += decoder.decode(step.value);
      return text;
    },
  };
}

const question = { messages: [{ role: 'user', content: 'Hi' }] };
const sse = { accept: 'text/event-stream' };

/** POST /api/chat/stream against a fake service on hand-stepped timers; the response is still pending. */
function startChatStream(headers: Record<string, string>, heartbeatMs?: string) {
  const fake = fakeChat(heartbeatMs);
  const timers = new ManualTimers();
  const pending = createChatStreamHandler({ chat: fake.chat, timers })(
    jsonRequest('/api/chat/stream', question, headers),
    invocation(),
  );
  return { fake, timers, pending };
}

describe('heartbeats on POST /api/chat/stream', () => {
  it('answers as before, with the region header and no keep-alive, when the service answers within the interval', async () => {
    const { fake, timers, pending } = startChatStream(sse);
    await timers.armed();
    fake.answer();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(header(response, 'x-chat-region')).toBe('swedencentral');
    expect(header(response, 'cache-control')).toBe('no-cache');
    fake.chunks.push(chunk('Hello'));
    fake.chunks.push(chunk(null, 'stop'));
    fake.chunks.end();
    const text = await reader(response).rest();
    expect(text).not.toContain(': keep-alive');
    expect(text).toContain('data: {"delta":{"role":"assistant","content":"Hello"}}');
  });

  it('starts the stream with SSE comments when the service is slower than the interval, then sends the answer', async () => {
    const { fake, timers, pending } = startChatStream(sse);
    await timers.elapse();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(header(response, 'content-type')).toBe('text/event-stream; charset=utf-8');
    expect(header(response, 'cache-control')).toBe('no-cache');
    // The region is not known yet; the closing frame's context says it.
    expect(header(response, 'x-chat-region')).toBeUndefined();
    const body = reader(response);
    const first = body.next();
    await timers.elapse();
    expect(await first).toBe(': keep-alive\n\n');
    const second = body.next();
    await timers.elapse();
    expect(await second).toBe(': keep-alive\n\n');
    const third = body.next();
    fake.answer();
    fake.chunks.push(chunk('Bonjour'));
    expect(await third).toBe('data: {"delta":{"role":"assistant","content":"Bonjour"}}\n\n');
    fake.chunks.push(chunk(null, 'stop'));
    fake.chunks.end();
    expect(await body.rest()).toContain('"context":{"model":"gpt-4o","region":"swedencentral"');
  });

  it('sends a keep-alive between chunks when upstream pauses longer than the interval', async () => {
    const { fake, timers, pending } = startChatStream(sse);
    await timers.armed();
    fake.answer();
    const body = reader(await pending);
    fake.chunks.push(chunk('One'));
    expect(await body.next()).toContain('"One"');
    const gap = body.next();
    await timers.elapse();
    expect(await gap).toBe(': keep-alive\n\n');
    const after = body.next();
    fake.chunks.push(chunk('Two'));
    expect(await after).toContain('"Two"');
  });

  it('uses blank lines as keep-alives for JSON lines, which the AI Chat Protocol client skips', async () => {
    const { fake, timers, pending } = startChatStream({});
    await timers.elapse();
    const response = await pending;
    expect(header(response, 'content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(header(response, 'cache-control')).toBe('no-cache');
    const body = reader(response);
    const first = body.next();
    await timers.elapse();
    expect(await first).toBe('\n');
    fake.answer();
    fake.chunks.push(chunk('Hi'));
    fake.chunks.end();
    const lines = (await body.rest()).split('\n').filter((line) => line !== '');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toMatchObject([
      { delta: { content: 'Hi' } },
      { context: { region: 'swedencentral' } },
    ]);
  });

  it('keeps a failure within the interval a proper status with Retry-After', async () => {
    const { fake, timers, pending } = startChatStream(sse);
    await timers.armed();
    fake.fail(new ChatError('all_regions_throttled', { message: 'Every region is busy.', retryAfterMs: 3000 }));
    const response = await pending;
    expect(response.status).toBe(429);
    expect(header(response, 'retry-after')).toBe('3');
  });

  it('ends a stream that started early with an error frame when the service then fails', async () => {
    const { fake, timers, pending } = startChatStream(sse);
    await timers.elapse();
    const body = reader(await pending);
    const first = body.next();
    fake.fail(new ChatError('all_regions_failed', { message: 'No region could answer.', requestId: 'r-1' }));
    expect(await first).toMatch(/^event: error\ndata: \{"error":\{"code":"all_regions_failed"/);
    expect(await body.next()).toBeUndefined();
  });

  it('schedules no timer at all when CHAT_HEARTBEAT_MS is 0', async () => {
    const { fake, timers, pending } = startChatStream(sse, '0');
    fake.answer();
    const response = await pending;
    fake.chunks.push(chunk('Hi'));
    fake.chunks.end();
    expect(await reader(response).rest()).toContain('"Hi"');
    expect(timers.scheduled).toBe(0);
  });
});

describe('heartbeats on POST /api/v1/chat/completions', () => {
  it('sends SSE comments while waiting, then the chunks and [DONE], with no-cache', async () => {
    const fake = fakeChat();
    const timers = new ManualTimers();
    const pending = createOpenAIChatHandler({ chat: fake.chat, timers })(
      jsonRequest('/api/v1/chat/completions', { model: 'gpt-4o', stream: true, ...question }),
      invocation(),
    );
    await timers.elapse();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(header(response, 'cache-control')).toBe('no-cache');
    const body = reader(response);
    const first = body.next();
    await timers.elapse();
    expect(await first).toBe(': keep-alive\n\n');
    fake.answer();
    fake.chunks.push(chunk('Hi'));
    fake.chunks.end();
    const rest = await body.rest();
    expect(rest).toContain('"content":"Hi"');
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('withHeartbeats', () => {
  it('stops its source when the consumer stops, so the upstream call can be aborted', async () => {
    const source = new Channel<Uint8Array>();
    source.push(new Uint8Array([1]));
    source.push(new Uint8Array([2]));
    const stream = withHeartbeats(source, new Uint8Array([0]), 1000, new ManualTimers());
    expect((await stream.next()).value).toEqual(new Uint8Array([1]));
    await stream.return(undefined);
    expect(source.returned).toBe(true);
  });
});
