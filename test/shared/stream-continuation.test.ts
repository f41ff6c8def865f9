/**
 * Issue 14 through the chat service as production wires it, against two simulated regions: a stream
 * that breaks after its first byte is continued from the other region, and the consumer sees one
 * unbroken answer. Each test starts its own regions (breakers and faults stay in the test).
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorOptions } from '../../simulator';
import type { ChatObserver, ChatService, CompletionReport } from '../../shared/chat-service';
import { ChatError } from '../../shared/errors';
import { ManualTimers } from './manual-timers';
import { rejection } from './rejection';
import { hello, startTwoRegions, type TwoRegions } from './two-regions';

let regions: TwoRegions | undefined;
afterEach(async () => {
  await regions?.close();
  regions = undefined;
});

async function start(options: { secondary?: SimulatorOptions } = {}): Promise<TwoRegions> {
  regions = await startTwoRegions(options);
  return regions;
}

/** The answer the regions give `hello` when nothing breaks (both regions give the same). */
async function unbroken(chat: ChatService): Promise<string> {
  const result = await chat.complete({ ...hello, requestId: 'unbroken' });
  return result.completion.choices[0]?.message.content ?? '';
}

async function read(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const textOf = (chunks: readonly ChatCompletionChunk[]) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** An observer that keeps the completion report. */
function reports(): ChatObserver & { completed: CompletionReport[] } {
  const completed: CompletionReport[] = [];
  return { completed, onCompleted: (report) => completed.push(report) };
}

describe('continuing a stream that breaks after its first byte', () => {
  it.each([1, 2, 5, 20])(
    'completes an answer the primary drops after %i chunks with the same text as an unbroken one, in one response',
    async (afterChunks) => {
      const r = await start();
      const observer = reports();
      const chat = r.service({}, { observer });
      const whole = await unbroken(chat);
      r.primary.setFault({ kind: 'reset-midstream', afterChunks });

      const stream = await chat.stream({ ...hello, requestId: `broken-${afterChunks}` });
      const chunks = await read(stream.chunks);

      expect(textOf(chunks)).toBe(whole);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.filter((c) => c.choices[0]?.delta.role !== undefined)).toHaveLength(1);
      expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
      expect(stream.parts()).toEqual([
        { region: 'eastus2', chars: expect.any(Number), ended: 'reset' },
        { region: 'swedencentral', chars: whole.length - (stream.parts()[0]?.chars ?? 0), ended: 'finished' },
      ]);
      expect(observer.completed.at(-1)).toMatchObject({ outcome: 'completed', parts: stream.parts() });
    },
  );

  it('removes the words the continuing region says again, so the text is still equal byte for byte', async () => {
    const r = await start({ secondary: { continuationRepeatWords: 3 } });
    const chat = r.service();
    const whole = await unbroken(chat);
    r.primary.setFault({ kind: 'reset-midstream', afterChunks: 8 });

    const wholeTokens = r.primary.stats().completionTokens;
    const stream = await chat.stream({ ...hello, requestId: 'repeat' });
    expect(textOf(await read(stream.chunks))).toBe(whole);
    // The secondary did say three words (one token each) again, and they were not passed on.
    expect(r.secondary.stats().completionTokens).toBe(wholeTokens - 8 + 3);
  });

  it('adds up the usage of both calls in the last chunk and in the report', async () => {
    const r = await start();
    const observer = reports();
    const chat = r.service({}, { observer });
    const unbrokenStream = await chat.stream({ ...hello, requestId: 'whole' });
    const wholeUsage = (await read(unbrokenStream.chunks)).at(-1)?.usage;
    r.primary.setFault({ kind: 'reset-midstream', afterChunks: 5 });

    const stream = await chat.stream({ ...hello, requestId: 'usage' });
    const usage = (await read(stream.chunks)).at(-1)?.usage;
    const continued = r.secondary.stats();
    // The continuation's own usage, plus the broken call's 5 chunks and (estimated) prompt.
    expect(usage?.completion_tokens).toBe(continued.completionTokens + 5);
    expect(usage?.prompt_tokens).toBe(continued.promptTokens + (continued.promptTokens - 5));
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
    expect(usage?.completion_tokens).toBe(wholeUsage?.completion_tokens);
    expect(observer.completed.at(-1)?.usage).toEqual(usage);
  });

  it('continues a stream that goes silent once the idle limit passes, while the primary keeps the connection open', async () => {
    const r = await start();
    const timers = new ManualTimers();
    const chat = r.service({ CHAT_STREAM_IDLE_TIMEOUT_MS: '5000' }, { timers });
    const whole = await unbroken(chat);
    r.primary.setFault({ kind: 'stall', afterChunks: 3 });

    const stream = await chat.stream({ ...hello, requestId: 'stall' });
    const iterator = stream.chunks[Symbol.asyncIterator]();
    let text = '';
    // The role chunk and the three content chunks the primary sends before it goes silent.
    for (let i = 0; i < 4; i++) text += (await iterator.next()).value?.choices[0]?.delta.content ?? '';
    const stalled = iterator.next();
    await timers.elapse();
    for (let next = await stalled; next.done !== true; next = await iterator.next()) {
      text += next.value.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(whole);
    expect(stream.parts().map((p) => [p.region, p.ended])).toEqual([
      ['eastus2', 'stall'],
      ['swedencentral', 'finished'],
    ]);
    expect(timers.waiting()).toEqual([]);
  });

  it('ends with stream_interrupted after the allowed continuations when every region breaks', async () => {
    const r = await start();
    const chat = r.service();
    const whole = await unbroken(chat);
    r.primary.setFault({ kind: 'reset-midstream', afterChunks: 2 });
    r.secondary.setFault({ kind: 'reset-midstream', afterChunks: 2 });

    const stream = await chat.stream({ ...hello, requestId: 'both' });
    const received: ChatCompletionChunk[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of stream.chunks) received.push(chunk);
      })(),
    );
    expect(error).toBeInstanceOf(ChatError);
    expect(error.code).toBe('stream_interrupted');
    expect(error.diagnosis).toContain('no continuation left (2 made)');
    // The first call and two continuations (CHAT_MAX_CONTINUATIONS default 2), each adding text.
    expect(stream.parts().map((p) => p.ended)).toEqual(['reset', 'reset', 'reset']);
    expect(whole.startsWith(textOf(received))).toBe(true);
    expect(textOf(received).length).toBeGreaterThan(0);
  });

  it('does not continue past the request deadline', async () => {
    const r = await start();
    const chat = r.service({ CHAT_REQUEST_TIMEOUT_MS: '60000' });
    r.primary.setFault({ kind: 'reset-midstream', afterChunks: 3 });
    const stream = await chat.stream({ ...hello, requestId: 'late' });
    const iterator = stream.chunks[Symbol.asyncIterator]();
    await iterator.next();
    r.clock.advance(60_000);
    const error = await rejection(
      (async () => {
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next());
      })(),
    );
    expect(error.code).toBe('stream_interrupted');
    expect(r.secondary.stats().total).toBe(0);
  });

  it('never continues an answer the content filter stopped', async () => {
    const r = await start();
    const chat = r.service();
    const stream = await chat.stream({
      messages: [{ role: 'user', content: 'Say [[filter-output]]' }],
      requestId: 'cf',
    });
    const chunks = await read(stream.chunks);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'content_filter')).toBe(true);
    expect(stream.parts()).toEqual([{ region: 'eastus2', chars: textOf(chunks).length, ended: 'finished' }]);
    expect(r.secondary.stats().total).toBe(0);
  });

  it('ends with stream_interrupted as before when continuation is turned off', async () => {
    const r = await start();
    r.primary.setFault({ kind: 'reset-midstream', afterChunks: 2 });
    const stream = await r.service({ CHAT_MAX_CONTINUATIONS: '0' }).stream({ ...hello, requestId: 'off' });
    expect((await rejection(read(stream.chunks))).code).toBe('stream_interrupted');
    expect(r.secondary.stats().total).toBe(0);
  });
});

/**
 * fetch for the service whose streamed answers from `url` pass on their first `events` server-sent
 * events and then end with `ending` (nothing: a clean end without a finish reason).
 */
function cutStreams(url: string, events: number, ending = ''): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!String(input instanceof Request ? input.url : input).startsWith(url) || response.body === null)
      return response;
    const source = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    let passed = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await source.read();
        buffered += value ?? '';
        const complete = buffered.split('\n\n');
        buffered = complete.pop() ?? '';
        for (const event of complete) {
          if (passed++ < events) controller.enqueue(new TextEncoder().encode(`${event}\n\n`));
        }
        if (passed >= events || done) {
          if (ending) controller.enqueue(new TextEncoder().encode(ending));
          controller.close();
          await source.cancel();
        }
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

describe('other breaks after the first byte', () => {
  it.each([
    ['ends cleanly without a finish reason', '', 'ended-early'],
    [
      'sends an error event (a 5xx mid-stream)',
      'data: {"error":{"code":"500","message":"The server had an error."}}\n\n',
      'reset',
    ],
  ])('continues a stream that %s', async (_name, ending, ended) => {
    const r = await start();
    const chat = r.service({}, { fetch: cutStreams(r.primary.url, 6, ending) });
    const whole = await unbroken(chat);
    const stream = await chat.stream({ ...hello, requestId: 'cut' });
    expect(textOf(await read(stream.chunks))).toBe(whole);
    // The prompt-filter and role events, then four chunks of text.
    expect(stream.parts()).toEqual([
      { region: 'eastus2', chars: expect.any(Number), ended },
      { region: 'swedencentral', chars: expect.any(Number), ended: 'finished' },
    ]);
  });
});

describe('a non-streamed answer whose body breaks while it is read', () => {
  it('fails over: the SDK throws TypeError terminated, which is a connection failure', async () => {
    const r = await start();
    const errors: unknown[] = [];
    const chat = r.service({}, { observer: { onAttempt: (a) => errors.push(a.error) } });
    const whole = await unbroken(chat);
    r.primary.setFault({ kind: 'reset-midstream' });

    const result = await chat.complete({ ...hello, requestId: 'half-body' });
    expect(result.completion.choices[0]?.message.content).toBe(whole);
    expect(result.region).toBe('swedencentral');
    expect(result.attempts[0]).toMatchObject({
      region: 'eastus2',
      status: 'connection-error',
      code: 'region_unavailable',
    });
    const failed = errors.find((e) => e instanceof ChatError);
    expect(((failed as ChatError).cause as Error).message).toBe('terminated');
  });
});
