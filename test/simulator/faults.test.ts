import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { Fault, RunningSimulator, SimulatorStats } from '../../simulator';
import { parseFault } from '../../simulator';
import { client, hello, post, sseData, useSimulator } from './fixture';
import { wire } from '../wire';

const V1 = '/openai/v1/chat/completions';

const start = useSimulator();

async function setFault(s: RunningSimulator, fault: unknown): Promise<Response> {
  return fetch(`${s.url}/_sim/fault`, { method: 'POST', body: JSON.stringify(fault) });
}

/** Reads a raw response body until it ends or the connection breaks. */
async function readUntilError(response: Response): Promise<{ text: string; error: unknown }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value as Uint8Array, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

describe('parseFault', () => {
  it.each([
    [{ kind: 'none' }, { kind: 'none' }],
    [{ kind: 'outage' }, { kind: 'outage', mode: 'http' }],
    [
      { kind: 'outage', mode: 'refuse' },
      { kind: 'outage', mode: 'refuse' },
    ],
    [
      { kind: 'outage', retryAfterMs: 5000 },
      { kind: 'outage', mode: 'http', retryAfterMs: 5000 },
    ],
    [{ kind: 'throttle' }, { kind: 'throttle', retryAfterMs: 10_000 }],
    [
      { kind: 'throttle', retryAfterMs: 0 },
      { kind: 'throttle', retryAfterMs: 0 },
    ],
    [
      { kind: 'latency', latencyMs: 250 },
      { kind: 'latency', latencyMs: 250 },
    ],
    [{ kind: 'error500' }, { kind: 'error500' }],
    [{ kind: 'reset-midstream' }, { kind: 'reset-midstream' }],
    [
      { kind: 'reset-midstream', afterChunks: 20 },
      { kind: 'reset-midstream', afterChunks: 20 },
    ],
    [
      { kind: 'stall', afterChunks: 0 },
      { kind: 'stall', afterChunks: 0 },
    ],
  ])('accepts %j as %j', (input, fault) => {
    expect(parseFault(input)).toEqual({ ok: true, fault });
  });

  it.each([
    [null],
    ['outage'],
    [{}],
    [{ kind: 'flood' }],
    [{ kind: 'throttle', retryAfterMs: -1 }],
    [{ kind: 'latency', latencyMs: '5' }],
    [{ kind: 'outage', mode: 'slow' }],
    [{ kind: 'reset-midstream', afterChunks: 1.5 }],
    [{ kind: 'stall', afterChunks: -1 }],
  ])('rejects %j with a message showing an example', (input) => {
    const parsed = parseFault(input);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain('Example: {"kind":"throttle"');
  });
});

describe('simulator fault endpoints', () => {
  it('sets the fault without auth and reports it on GET', async () => {
    const s = await start();
    const set = await setFault(s, { kind: 'throttle', retryAfterMs: 2500 });
    expect(set.status).toBe(200);
    const current = (await (await fetch(`${s.url}/_sim/fault`)).json()) as Fault;
    expect(current).toEqual({ kind: 'throttle', retryAfterMs: 2500 });
    expect(s.fault()).toEqual(current);
  });

  it('answers an invalid fault with 400 and keeps the current one', async () => {
    const s = await start();
    const response = await setFault(s, { kind: 'meteor' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'InvalidFault' } });
    expect(s.fault()).toEqual({ kind: 'none' });
  });

  it('returns to normal service with kind none', async () => {
    const s = await start({ fault: { kind: 'error500' } });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(500);
    await setFault(s, { kind: 'none' });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(200);
  });
});

describe('simulator faults', () => {
  it('answers every openai call with 503 during an outage, with retry-after when given', async () => {
    const s = await start();
    await setFault(s, { kind: 'outage', retryAfterMs: 4200 });
    const chat = await post(s, V1, { model: 'gpt-4o', messages: hello });
    expect(chat.status).toBe(503);
    expect(chat.body).toEqual(wire('aoai_503_model_internal_error_responses_api').body);
    expect(chat.headers.get('retry-after')).toBe('5');
    expect(chat.headers.get('retry-after-ms')).toBe('4200');
    expect((await fetch(`${s.url}/openai/v1/models`)).status).toBe(503);
    await expect(client(s).chat.completions.create({ model: 'gpt-4o', messages: hello })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });

  it('drops the connection without an answer in refuse mode', async () => {
    const s = await start();
    await setFault(s, { kind: 'outage', mode: 'refuse' });
    await expect(post(s, V1, { model: 'gpt-4o', messages: hello })).rejects.toThrow();
    await expect(client(s).chat.completions.create({ model: 'gpt-4o', messages: hello })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError,
    );
    expect(s.stats().byStatus).toEqual({ '0': 2 });
  });

  it.each([
    { retryAfterMs: undefined, header: '10', headerMs: '10000' },
    { retryAfterMs: 2500, header: '3', headerMs: '2500' },
  ])(
    'throttles every chat call with retry-after $header s when retryAfterMs is $retryAfterMs',
    async ({ retryAfterMs, header, headerMs }) => {
      const s = await start();
      await setFault(s, { kind: 'throttle', retryAfterMs });
      for (const deployment of ['gpt-4o', 'gpt-4o-mini']) {
        const response = await post(s, V1, { model: deployment, messages: hello });
        expect(response.status).toBe(429);
        expect(response.headers.get('retry-after')).toBe(header);
        expect(response.headers.get('retry-after-ms')).toBe(headerMs);
        expect(response.text).toContain(`Please retry after ${header} seconds.`);
      }
    },
  );

  it('adds the latency fault before the first byte', async () => {
    const delays: number[] = [];
    const s = await start({
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    await setFault(s, { kind: 'latency', latencyMs: 750 });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(200);
    expect(delays).toEqual([750]);
  });

  it('waits firstTokenMs then perTokenMs per token under a latency model', async () => {
    const delays: number[] = [];
    const s = await start({
      latency: { firstTokenMs: 300, perTokenMs: 15 },
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello, max_tokens: 4 });
    expect(delays).toEqual([300 + 4 * 15]);
    delays.length = 0;
    const stream = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
      max_tokens: 4,
      stream: true,
    });
    for await (const _chunk of stream) {
      // drain
    }
    expect(delays).toEqual([300, 15, 15, 15]);
  });

  it('answers 500 with the captured server_error body naming the request id', async () => {
    const s = await start();
    await setFault(s, { kind: 'error500' });
    const response = await post(s, V1, { model: 'gpt-4o', messages: hello });
    expect(response.status).toBe(500);
    const capture = wire('aoai_500_server_error_while_processing') as { body: { error: { message: string } } };
    const requestId = response.headers.get('apim-request-id') ?? '';
    expect(response.body).toEqual({
      error: {
        ...capture.body.error,
        message: capture.body.error.message.replace('6d6321f8-e4aa-4a77-9aa0-67868802d7ca', requestId),
      },
    });
  });

  it('breaks a streamed answer after the filter, role and two content chunks', async () => {
    const s = await start({ fault: { kind: 'reset-midstream' } });
    const response = await fetch(`${s.url}${V1}`, {
      method: 'POST',
      headers: { 'api-key': 'simulator-key' },
      body: JSON.stringify({ model: 'gpt-4o', messages: hello, stream: true }),
    });
    expect(response.status).toBe(200);
    const { text, error } = await readUntilError(response);
    expect(error).toBeDefined();
    const events = sseData(text).map((data) => JSON.parse(data) as { choices: { delta?: { content?: string } }[] });
    expect(events).toHaveLength(4);
    expect(events[0]?.choices).toEqual([]);
    expect(events[3]?.choices[0]?.delta?.content).toEqual(expect.any(String));
  });

  it('makes the openai stream iterator throw after a partial answer on reset-midstream', async () => {
    const s = await start({ fault: { kind: 'reset-midstream' } });
    const stream = await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true });
    const received: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '');
    };
    await expect(iterate()).rejects.toThrow();
    expect(received.filter((content) => content !== '')).toHaveLength(2);
  });

  it.each([1, 5, 20])('breaks a streamed answer after %i content chunks when asked', async (afterChunks) => {
    const s = await start({ fault: { kind: 'reset-midstream', afterChunks } });
    const stream = await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true });
    const received: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '');
    };
    await expect(iterate()).rejects.toThrow();
    expect(received.filter((content) => content !== '')).toHaveLength(afterChunks);
  });

  it('breaks a non-streamed call while its body is being read on reset-midstream', async () => {
    const s = await start({ fault: { kind: 'reset-midstream' } });
    const response = await fetch(`${s.url}${V1}`, {
      method: 'POST',
      headers: { 'api-key': 'simulator-key' },
      body: JSON.stringify({ model: 'gpt-4o', messages: hello }),
    });
    expect(response.status).toBe(200);
    const { text, error } = await readUntilError(response);
    expect(error).toBeDefined();
    expect(text.startsWith('{')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow();
    // The openai client has the status and headers by then: the break surfaces as fetch's own error, not as
    // an APIConnectionError, and the backend must fail over on it all the same.
    await expect(client(s).chat.completions.create({ model: 'gpt-4o', messages: hello })).rejects.toThrow('terminated');
  });

  it('goes silent after the given chunks on stall, keeping the connection open until the client leaves', async () => {
    const s = await start({ fault: { kind: 'stall', afterChunks: 3 } });
    const controller = new AbortController();
    const response = await fetch(`${s.url}${V1}`, {
      method: 'POST',
      headers: { 'api-key': 'simulator-key' },
      body: JSON.stringify({ model: 'gpt-4o', messages: hello, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Read until the third content chunk is in; the stream then sends nothing more.
    while (sseData(text).filter((d) => d.includes('"content":"')).length < 3) {
      const { value } = await reader.read();
      text += decoder.decode(value as Uint8Array, { stream: true });
    }
    const next = reader.read().then(
      () => 'data',
      () => 'aborted',
    );
    controller.abort();
    expect(await next).toBe('aborted');
    expect(sseData(text).some((d) => d.includes('finish_reason":"stop'))).toBe(false);
  });
});

describe('simulator stats and lifecycle', () => {
  it('counts requests by status, deployment, streaming and tokens, and clears them on reset', async () => {
    const s = await start();
    const completion = await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello });
    const stream = await client(s).chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    await post(s, V1, { model: 'gpt-4o', messages: hello }, { 'api-key': 'wrong', 'x-ms-client-request-id': 'abc' });
    const stats = (await (await fetch(`${s.url}/_sim/stats`)).json()) as SimulatorStats;
    expect(stats).toMatchObject({
      region: 'eastus2',
      total: 3,
      byStatus: { '200': 2, '401': 1 },
      byDeployment: { 'gpt-4o': 1, 'gpt-4o-mini': 1 },
      streamed: 1,
      nonStreamed: 2,
    });
    expect(stats.promptTokens).toBe(2 * (completion.usage?.prompt_tokens ?? 0));
    expect(stats.completionTokens).toBeGreaterThan(completion.usage?.completion_tokens ?? 0);
    expect(stats.recent.map((entry) => entry.status)).toEqual([200, 200, 401]);
    expect(stats.recent[2]).toMatchObject({ clientRequestId: 'abc', path: V1, method: 'POST' });
    expect((await fetch(`${s.url}/_sim/reset`, { method: 'POST' })).status).toBe(204);
    expect(s.stats()).toMatchObject({ total: 0, recent: [], promptTokens: 0 });
  });

  it('keeps only the last 200 requests', async () => {
    const s = await start();
    for (let i = 0; i < 205; i++) await fetch(`${s.url}/openai/v1/nothing`);
    const stats = s.stats();
    expect(stats.total).toBe(205);
    expect(stats.recent).toHaveLength(200);
  });

  it('closes promptly while a slow stream is still open', async () => {
    const s = await start({ latency: { firstTokenMs: 0, perTokenMs: 3_600_000 } });
    const stream = await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the prompt filter chunk has arrived: the answer is now hanging on the next token
    await s.close();
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
    ).rejects.toThrow();
  });
});
