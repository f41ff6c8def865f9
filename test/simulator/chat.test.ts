import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../simulator';
import { API_KEY, client, hello, post, sseData, withSimulator } from './fixture';

const encoder = new Tiktoken(o200kBase);

describe('simulator chat completions', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await withSimulator({ region: 'swedencentral' });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers the openai client on the v1 route with an Azure-shaped completion', async () => {
    const completion = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.message.content).toMatch(/^[A-Z][A-Za-z ,.]+\.$/);
    expect(completion.model).toBe('gpt-4o-2024-11-20');
    expect(completion.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    const raw = completion as unknown as Record<string, unknown>;
    expect(raw['prompt_filter_results']).toEqual([
      expect.objectContaining({
        prompt_index: 0,
        content_filter_results: expect.objectContaining({ jailbreak: { filtered: false, detected: false } }),
      }),
    ]);
    expect(choice).toHaveProperty('content_filter_results.protected_material_text', {
      filtered: false,
      detected: false,
    });
  });

  it('reports usage whose completion tokens equal the o200k_base count of the answer', async () => {
    const completion = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello });
    const content = completion.choices[0]?.message.content ?? '';
    expect(completion.usage?.completion_tokens).toBe(encoder.encode(content).length);
    // 3 per message + role + content, plus 3 priming the reply (OpenAI's counting for gpt-4o).
    expect(completion.usage?.prompt_tokens).toBe(
      3 + 3 + encoder.encode('user').length + encoder.encode(hello[0]!.content).length,
    );
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
  });

  it('gives the same answer to the same request and a different one to a different prompt', async () => {
    const ask = async (content: string) =>
      (await client(sim).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] })).choices[0]
        ?.message.content;
    const first = await ask('Tell me about rivers.');
    expect(await ask('Tell me about rivers.')).toBe(first);
    expect(await ask('Tell me about mountains.')).not.toBe(first);
  });

  it('cuts the answer at max_tokens with finish_reason length, as a prefix of the full answer', async () => {
    const full = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello });
    const cut = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello, max_tokens: 5 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(5);
    expect(full.choices[0]?.message.content?.startsWith(cut.choices[0]?.message.content ?? 'x')).toBe(true);
  });

  it('honours max_completion_tokens like max_tokens', async () => {
    const cut = await client(sim).chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
      max_completion_tokens: 3,
    });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(3);
  });

  it('makes answers about answerTokens long', async () => {
    const short = await withSimulator({ answerTokens: 10 });
    try {
      const completion = await client(short).chat.completions.create({ model: 'gpt-4o', messages: hello });
      // Whole sentences: at least the configured length, never more than one sentence over it.
      expect(completion.usage?.completion_tokens).toBeGreaterThanOrEqual(10);
      expect(completion.usage?.completion_tokens).toBeLessThan(10 + 16);
    } finally {
      await short.close();
    }
  });

  it('streams token deltas that the openai client reassembles, ending with finish_reason stop', async () => {
    const stream = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    const whole = await client(sim).chat.completions.create({ model: 'gpt-4o', messages: hello });
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(chunks[0]?.choices).toEqual([]);
    expect(chunks[1]?.choices[0]?.delta).toEqual({ content: '', refusal: null, role: 'assistant' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    // One delta per token.
    const deltas = chunks.filter((chunk) => (chunk.choices[0]?.delta?.content ?? '') !== '');
    expect(deltas).toHaveLength(encoder.encode(text).length);
  });

  it('sends a usage chunk with choices [] only when stream_options.include_usage is true', async () => {
    const withUsage = await client(sim).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.model).toBe('gpt-4o-mini-2024-07-18');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    expect(last?.usage?.completion_tokens).toBe(encoder.encode(text).length);

    const without = await client(sim).chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    for await (const chunk of without) expect(chunk.usage ?? null).toBeNull();
  });

  it('frames the raw stream like Azure: prompt filter event first, content_filter_results on deltas, then [DONE]', async () => {
    const response = await post(sim, '/openai/v1/chat/completions', {
      model: 'gpt-4o',
      messages: hello,
      stream: true,
      max_tokens: 2,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = sseData(response.text);
    expect(JSON.parse(events[0]!)).toEqual({
      choices: [],
      created: 0,
      id: '',
      model: '',
      object: '',
      prompt_filter_results: [expect.objectContaining({ prompt_index: 0 })],
    });
    expect(JSON.parse(events[2]!)).toHaveProperty('choices.0.content_filter_results.hate', {
      filtered: false,
      severity: 'safe',
    });
    expect(JSON.parse(events[4]!)).toHaveProperty('choices.0.finish_reason', 'length');
    expect(events.at(-1)).toBe('[DONE]');
    expect(events).toHaveLength(6);
  });

  it('serves the classic deployments route when api-version is present', async () => {
    const response = await post(sim, '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', {
      messages: hello,
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-2024-11-20' });
    expect(response.headers.get('api-supported-versions')).toBeNull();
  });

  it('answers 404 Resource not found on the classic route without api-version', async () => {
    const response = await post(sim, '/openai/deployments/gpt-4o/chat/completions', { messages: hello });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  it('lists the deployments in the OpenAI list shape', async () => {
    const page = await client(sim).models.list();
    expect(page.data.map((model) => model.id)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(page.data[0]).toMatchObject({ object: 'model' });
  });

  it('puts Azure headers on every answer and echoes the client request id', async () => {
    const response = await post(
      sim,
      '/openai/v1/chat/completions',
      { model: 'gpt-4o', messages: hello },
      {
        'api-key': API_KEY,
        'x-ms-client-request-id': 'client-123',
      },
    );
    const uuid = /^[0-9a-f-]{36}$/;
    expect(response.headers.get('apim-request-id')).toMatch(uuid);
    expect(response.headers.get('x-request-id')).toMatch(uuid);
    expect(response.headers.get('x-ms-client-request-id')).toBe('client-123');
    expect(response.headers.get('x-ms-region')).toBe('Sweden Central');
    expect(response.headers.get('x-ms-deployment-name')).toBe('gpt-4o');
    expect(response.headers.get('api-supported-versions')).toBe('1');
    expect(Number(response.headers.get('x-ratelimit-limit-requests'))).toBe(6000);
    expect(Number(response.headers.get('x-ratelimit-limit-tokens'))).toBe(1_000_000);
    expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(6000);
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1_000_000);
    const recent = sim.stats().recent.at(-1);
    expect(recent).toMatchObject({ clientRequestId: 'client-123', deployment: 'gpt-4o', status: 200 });
  });

  it('reports the region as given and binds loopback on the chosen port', () => {
    expect(sim.region).toBe('swedencentral');
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
  });
});
