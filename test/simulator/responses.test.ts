/**
 * The simulator's Responses API (`POST /openai/v1/responses`) against the official openai client:
 * `responses.create` and `responses.stream`, stored responses per region, and the same auth, faults and
 * limits as chat completions.
 */
import { APIConnectionError, AuthenticationError, BadRequestError, RateLimitError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { client, post, useSimulator } from './fixture';

const start = useSimulator();

describe('simulator Responses API', () => {
  it('answers responses.create with a Response the SDK reads (output_text, usage, status)', async () => {
    const sim = await start({ region: 'swedencentral' });
    const response = await client(sim).responses.create({ model: 'gpt-4o', input: 'Hello', instructions: 'Be brief' });
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4o-2024-11-20' });
    expect(response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(response.instructions).toBe('Be brief');
    expect(response.output_text).toMatch(/^[A-Z][A-Za-z ,.]+\.$/);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe(
      (response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0),
    );
  });

  it('streams the typed events in the order responses.stream expects, ending with the final response', async () => {
    const sim = await start();
    const stream = client(sim).responses.stream({ model: 'gpt-4o', input: 'Hello' });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    const distinct = types.filter((t, i) => t !== types[i - 1]);
    expect(distinct).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('numbers the events and names each one on its SSE event line', async () => {
    const sim = await start();
    const answer = await post(sim, '/openai/v1/responses', { model: 'gpt-4o', input: 'Hi', stream: true });
    const events = answer.text.split('\n\n').filter((e) => e !== '');
    const parsed = events.map((e) => {
      const [name, data] = e.split('\n');
      return {
        name: name?.slice('event: '.length),
        data: JSON.parse(data?.slice('data: '.length) ?? '') as ResponseStreamEvent,
      };
    });
    expect(parsed.every((e) => e.name === e.data.type)).toBe(true);
    expect(parsed.map((e) => e.data.sequence_number)).toEqual(parsed.map((_, i) => i));
  });

  it('cuts an answer at max_output_tokens: status incomplete, reason max_output_tokens', async () => {
    const sim = await start();
    const response = await client(sim).responses.create({ model: 'gpt-4o', input: 'Hello', max_output_tokens: 16 });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.usage?.output_tokens).toBe(16);
  });

  it('continues a stored response with previous_response_id as if the whole conversation were sent', async () => {
    const sim = await start();
    const openai = client(sim);
    const first = await openai.responses.create({ model: 'gpt-4o', input: 'Hello' });
    const followUp = await openai.responses.create({
      model: 'gpt-4o',
      input: 'And then?',
      previous_response_id: first.id,
    });
    expect(followUp.previous_response_id).toBe(first.id);
    const resent = await openai.responses.create({
      model: 'gpt-4o',
      store: false,
      input: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'And then?' },
      ],
    });
    expect(followUp.output_text).toBe(resent.output_text);
    const referenced = await openai.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'Hello' },
        { type: 'item_reference', id: first.output[0]?.id ?? '' },
        { role: 'user', content: 'And then?' },
      ],
    });
    expect(referenced.output_text).toBe(resent.output_text);
  });

  it('keeps stored responses to its own region: another region answers previous_response_not_found', async () => {
    const east = await client(await start({ region: 'eastus2' })).responses.create({ model: 'gpt-4o', input: 'Hi' });
    const other = await start({ region: 'swedencentral' });
    const error = await client(other)
      .responses.create({ model: 'gpt-4o', input: 'More', previous_response_id: east.id })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('previous_response_not_found');
    expect((error as BadRequestError).param).toBe('previous_response_id');
  });

  it('does not store a response sent with store: false', async () => {
    const sim = await start();
    const openai = client(sim);
    const first = await openai.responses.create({ model: 'gpt-4o', input: 'Hi', store: false });
    expect((first as unknown as { store: boolean }).store).toBe(false);
    const error = await openai.responses
      .create({ model: 'gpt-4o', input: 'More', previous_response_id: first.id })
      .catch((e: unknown) => e);
    expect((error as BadRequestError).code).toBe('previous_response_not_found');
  });

  it('checks the key, and serves the same faults as chat completions', async () => {
    const sim = await start();
    await expect(client(sim, 'wrong').responses.create({ model: 'gpt-4o', input: 'Hi' })).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    sim.setFault({ kind: 'throttle', retryAfterMs: 3000 });
    const throttled = await client(sim)
      .responses.create({ model: 'gpt-4o', input: 'Hi' })
      .catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(RateLimitError);
    expect((throttled as RateLimitError).headers?.get('retry-after-ms')).toBe('3000');
    sim.setFault({ kind: 'outage' });
    expect((await post(sim, '/openai/v1/responses', { model: 'gpt-4o', input: 'Hi' })).status).toBe(503);
  });

  it('breaks a stream after afterChunks text deltas on reset-midstream', async () => {
    const sim = await start({ fault: { kind: 'reset-midstream', afterChunks: 3 } });
    const deltas: string[] = [];
    const error = await (async () => {
      for await (const event of await client(sim).responses.create({ model: 'gpt-4o', input: 'Hi', stream: true })) {
        if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      }
    })().catch((e: unknown) => e);
    expect(deltas).toHaveLength(3);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(APIConnectionError);
  });

  it('refuses an unknown deployment with DeploymentNotFound, as for chat', async () => {
    const sim = await start();
    const answer = await post(sim, '/openai/v1/responses', { model: 'gpt-5', input: 'Hi' });
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('DeploymentNotFound');
  });
});
