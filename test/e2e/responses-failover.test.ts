/**
 * Issue 15: the Responses API fails over like chat before the first byte (an outage of the primary,
 * whole and streamed), and a stream that breaks after it ends with `response.failed` and an `error`
 * event the official client raises. Opens no breaker (high threshold): tests run shuffled.
 */
import { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_BREAKER_FAILURES: '100' });
});
afterEach(() => {
  backend.primary.setFault({ kind: 'none' });
});
afterAll(async () => {
  await backend.close();
});

describe('Responses API failover', () => {
  it('serves a whole response from the secondary while the primary is out, ids tagged with it', async () => {
    backend.primary.setFault({ kind: 'outage' });
    const { data, response } = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'Hello' })
      .withResponse();
    expect(response.headers.get('x-chat-region')).toBe('swedencentral');
    expect(response.headers.get('x-chat-attempts')).toBe('2');
    expect(data.id).toMatch(/~swedencentral$/);
  });

  it('fails a stream over before its first byte: the client sees one clean stream from the secondary', async () => {
    backend.primary.setFault({ kind: 'outage', mode: 'refuse' });
    const stream = backend.openai.responses.stream({ model: 'gpt-4o', input: 'Hello' });
    const created: string[] = [];
    for await (const event of stream) if (event.type === 'response.created') created.push(event.response.id);
    const final = await stream.finalResponse();
    expect(created).toEqual([final.id]);
    expect(final.id).toMatch(/~swedencentral$/);
    expect(final.status).toBe('completed');
  });

  it('ends a stream that breaks after its first byte with response.failed, then an error the client raises', async () => {
    backend.primary.setFault({ kind: 'reset-midstream', afterChunks: 2 });
    const types: string[] = [];
    const error = await (async () => {
      const stream = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hello', stream: true });
      for await (const event of stream) types.push(event.type);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).error).toMatchObject({ code: 'stream_interrupted', requestId: expect.any(String) });
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);
    expect(types.at(-1)).toBe('response.failed');
  });

  it('sends the typed error fields on the wire too: code, message, sequence numbers that go on', async () => {
    backend.primary.setFault({ kind: 'reset-midstream', afterChunks: 1 });
    const answer = await fetch(`${backend.host.url}/api/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ model: 'gpt-4o', input: 'Hello', stream: true }),
    });
    const events = (await answer.text())
      .split('\n\n')
      .filter((e) => e.startsWith('event: '))
      .map((e) => JSON.parse(e.split('\n')[1]?.slice('data: '.length) ?? '{}') as Record<string, unknown>);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: 'error', code: 'stream_interrupted', param: null });
    expect(events.at(-2)).toMatchObject({ type: 'response.failed', response: { status: 'failed' } });
    expect(events.map((e) => e['sequence_number'])).toEqual(events.map((_, i) => i));
  });
});
