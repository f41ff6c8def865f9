/**
 * Issue 15.2: `previous_response_id` across regions. A stored response lives in the region that made it;
 * follow-ups go there while it serves (even when another region is first in line), and when it is out
 * the client gets `previous_response_unavailable` (409) asking for the whole conversation, which any
 * region then answers. Opens no breaker (high threshold): tests run shuffled.
 */
import { ConflictError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_BREAKER_FAILURES: '100' });
});
afterEach(() => {
  backend.primary.setFault({ kind: 'none' });
  backend.secondary.setFault({ kind: 'none' });
});
afterAll(async () => {
  await backend.close();
});

const calls = (sim: Backend['primary']) => sim.stats().recent.filter((r) => r.path === '/openai/v1/responses').length;

describe('previous_response_id across regions', () => {
  it('routes a follow-up to the region that stored the response, not to the first in line', async () => {
    backend.primary.setFault({ kind: 'outage' });
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hello' });
    expect(first.id).toMatch(/~swedencentral$/);
    backend.primary.setFault({ kind: 'none' });
    const before = calls(backend.primary);
    const { data, response } = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'And then?', previous_response_id: first.id })
      .withResponse();
    expect(response.headers.get('x-chat-region')).toBe('swedencentral');
    expect(data.previous_response_id).toBe(first.id);
    expect(calls(backend.primary)).toBe(before);
  });

  it('asks for the whole conversation when the region that stored it goes down between two turns', async () => {
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hello' });
    expect(first.id).toMatch(/~eastus2$/);
    backend.primary.setFault({ kind: 'outage' });
    const secondaryBefore = calls(backend.secondary);
    const error = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'And then?', previous_response_id: first.id })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    const body = (error as ConflictError).error as { code: string; message: string };
    expect(body.code).toBe('previous_response_unavailable');
    expect(body.message).toContain('eastus2');
    expect(body.message).toContain('whole conversation');
    // The other region has not got the stored turns: it is not asked.
    expect(calls(backend.secondary)).toBe(secondaryBefore);

    const resent = await backend.openai.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'And then?' },
      ],
    });
    expect(resent.id).toMatch(/~swedencentral$/);

    backend.primary.setFault({ kind: 'none' });
    const later = await backend.openai.responses.create({
      model: 'gpt-4o',
      input: 'And then?',
      previous_response_id: first.id,
    });
    expect(later.id).toMatch(/~eastus2$/);
    expect(later.output_text).toBe(resent.output_text);
  });

  it('streams a follow-up from its home region, and refuses it with the same 409 when the region is out', async () => {
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hi' });
    const stream = backend.openai.responses.stream({ model: 'gpt-4o', input: 'More', previous_response_id: first.id });
    expect((await stream.finalResponse()).id).toMatch(/~eastus2$/);
    backend.primary.setFault({ kind: 'outage', mode: 'refuse' });
    const error = await backend.openai.responses
      .create({ model: 'gpt-4o', input: 'More', previous_response_id: first.id, stream: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
  });

  it('fails a follow-up stored with store: false over like any request: it refers to nothing stored', async () => {
    backend.primary.setFault({ kind: 'outage' });
    const answer = await backend.openai.responses.create({
      model: 'gpt-4o',
      store: false,
      input: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'More' },
      ],
    });
    expect(answer.id).toMatch(/~swedencentral$/);
  });
});
