/**
 * Issue 15: `POST /api/v1/responses` on the local host with both regions healthy, through the official
 * openai client (`responses.create`, `responses.stream`): answers, ids that carry the region, multi-turn
 * input, follow-ups with previous_response_id, validation and the one error body.
 */
import { BadRequestError, NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

function post(body: unknown): Promise<Response> {
  return fetch(`${backend.host.url}/api/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
    body: JSON.stringify(body),
  });
}

describe('POST /api/v1/responses', () => {
  it('answers responses.create with the primary region, ids tagged with it, the logical model asked for', async () => {
    const { data, response } = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'Hello', instructions: 'Be brief' })
      .withResponse();
    expect(response.headers.get('x-chat-region')).toBe('eastus2');
    expect(data.status).toBe('completed');
    expect(data.output_text.length).toBeGreaterThan(0);
    // Azure's id, the tag that binds it to the caller, the region that stored it.
    expect(data.id).toMatch(/^resp_[0-9a-f]{48}~[A-Za-z0-9_-]{22}~eastus2$/);
    expect(data.output[0]?.id).toMatch(/^msg_[0-9a-f]{48}~[A-Za-z0-9_-]{22}~eastus2$/);
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('streams with responses.stream: typed events, the text of the deltas in the final response', async () => {
    const stream = backend.openai.responses.stream({ model: 'gpt-4o', input: 'Hello' });
    const types = new Set<string>();
    let text = '';
    for await (const event of stream) {
      types.add(event.type);
      if (event.type === 'response.output_text.delta') {
        text += event.delta;
        expect(event.item_id).toMatch(/~eastus2$/);
      }
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(text);
    expect(final.id).toMatch(/~eastus2$/);
    expect([...types]).toEqual(
      expect.arrayContaining(['response.created', 'response.output_text.delta', 'response.completed']),
    );
  });

  it('continues a stored response with previous_response_id as the whole conversation would be', async () => {
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hello' });
    const followUp = await backend.openai.responses.create({
      model: 'gpt-4o',
      input: 'And then?',
      previous_response_id: first.id,
    });
    expect(followUp.previous_response_id).toBe(first.id);
    const resent = await backend.openai.responses.create({
      model: 'gpt-4o',
      store: false,
      input: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'And then?' },
      ],
    });
    expect(followUp.output_text).toBe(resent.output_text);
  });

  it('answers an item_reference to an earlier answer with the item the region stored', async () => {
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hi' });
    const conversation = (second: unknown) => [
      { role: 'user' as const, content: 'Hi' },
      second,
      { role: 'user' as const, content: 'Go on' },
    ];
    const referenced = await backend.openai.responses.create({
      model: 'gpt-4o',
      input: conversation({ type: 'item_reference', id: first.output[0]?.id }) as never,
    });
    const sent = await backend.openai.responses.create({
      model: 'gpt-4o',
      input: conversation({ role: 'assistant', content: first.output_text }) as never,
    });
    expect(referenced.output_text).toBe(sent.output_text);
  });

  it('refuses a field it does not serve with a 400 that names it', async () => {
    const answer = await post({ model: 'gpt-4o', input: 'Hi', tools: [{ type: 'web_search' }] });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('tools');
    expect(body.error.requestId).toBe(answer.headers.get('x-request-id'));
  });

  it('checks the fields it serves: max_output_tokens below 16 and an unknown model', async () => {
    const small = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'Hi', max_output_tokens: 5 })
      .catch((e: unknown) => e);
    expect(small).toBeInstanceOf(BadRequestError);
    expect(JSON.stringify((small as BadRequestError).error)).toContain('max_output_tokens');
    const unknown = await backend.openai.responses.create({ model: 'gpt-9', input: 'Hi' }).catch((e: unknown) => e);
    expect((unknown as BadRequestError).error).toMatchObject({ code: 'unknown_model' });
  });

  it('says a previous_response_id it never gave out was not found (404, the one error body), asking no region', async () => {
    const asked = () => backend.primary.stats().total + backend.secondary.stats().total;
    const before = asked();
    for (const id of ['resp_0123~eastus2', 'resp_0123']) {
      const error = await backend.openai.responses
        .create({ model: 'gpt-4o', input: 'Hi', previous_response_id: id })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).error).toMatchObject({ code: 'previous_response_not_found' });
    }
    expect(asked()).toBe(before);
  });

  it('answers 404 previous_response_not_found, as for a response that does not exist, when the region has none', async () => {
    const unstored = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hi', store: false });
    const error = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'More', previous_response_id: unstored.id })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).error).toMatchObject({ code: 'previous_response_not_found' });
  });
});
