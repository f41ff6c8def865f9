/**
 * Issue 15: the Responses API takes the same callers as chat (signed-in users' access tokens, service
 * keys) and counts the same per-user quota. Response ids are bound to the caller they were given to:
 * another caller's id is answered as one that does not exist (shared/responses/ids.ts).
 */
import OpenAI, { AuthenticationError, NotFoundError, RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../local/identity';
import { FUNCTION_KEY, startSignedInBackend, type Backend, type SignedInBackend } from './backend';

let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  signedIn = await startSignedInBackend({ CHAT_USER_REQUESTS_PER_MINUTE: '3' });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

/** The openai client as a signed-in front-end builds it: the access token is its API key. */
function clientFor(token: string): OpenAI {
  return new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey: token, maxRetries: 0 });
}

describe('Responses API callers and quotas', () => {
  it('answers a signed-in user, whole and streamed', async () => {
    const client = clientFor(await identity.token('alice'));
    expect((await client.responses.create({ model: 'gpt-4o', input: 'Hi' })).status).toBe('completed');
    expect((await client.responses.stream({ model: 'gpt-4o', input: 'Hi' }).finalResponse()).status).toBe('completed');
  });

  it('answers a service caller with its key, and asks a caller with neither to sign in', async () => {
    const keyed = await fetch(`${backend.host.url}/api/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ model: 'gpt-4o', input: 'Hi' }),
    });
    expect(keyed.status).toBe(200);
    const error = await clientFor('not-a-token')
      .responses.create({ model: 'gpt-4o', input: 'Hi' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).error).toMatchObject({ code: 'unauthorized' });
  });

  it('holds a user to CHAT_USER_REQUESTS_PER_MINUTE: 429 user_quota_exceeded with Retry-After', async () => {
    const client = clientFor(await identity.token('carol'));
    for (let i = 0; i < 3; i++) await client.responses.create({ model: 'gpt-4o', input: 'Hi' });
    const error = await client.responses.create({ model: 'gpt-4o', input: 'Hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).error).toMatchObject({ code: 'user_quota_exceeded' });
    expect(Number((error as RateLimitError).headers?.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('Responses API ids bound to their caller', () => {
  const asked = () => backend.primary.stats().total + backend.secondary.stats().total;
  const service = () =>
    new OpenAI({
      baseURL: `${backend.host.url}/api/v1/`,
      apiKey: 'unused',
      maxRetries: 0,
      // A key, and no bearer token: the client would send its apiKey as one.
      defaultHeaders: { 'x-functions-key': FUNCTION_KEY, authorization: null },
    });

  it("continues a user's own response with previous_response_id, the follow-up naming it as given", async () => {
    const dave = clientFor(await identity.token('dave'));
    const first = await dave.responses.create({ model: 'gpt-4o', input: 'Hello' });
    const followUp = await dave.responses.create({
      model: 'gpt-4o',
      input: 'And then?',
      previous_response_id: first.id,
    });
    expect(followUp.status).toBe('completed');
    expect(followUp.previous_response_id).toBe(first.id);
  });

  it("answers another caller's id with 404, exactly as an id that does not exist, and asks no region", async () => {
    const frank = clientFor(await identity.token('frank'));
    const erin = clientFor(await identity.token('erin'));
    const first = await frank.responses.create({ model: 'gpt-4o', input: 'My secret plans' });
    // Erin's own id of a response the region never stored: what "does not exist" looks like to her.
    const unstored = await erin.responses.create({ model: 'gpt-4o', input: 'Hi', store: false });
    const missing = await refusal(erin, unstored.id);

    const before = asked();
    for (const client of [erin, service()]) {
      const stolen = await refusal(client, first.id);
      expect(stolen).toMatchObject({ status: 404, code: 'previous_response_not_found' });
      expect(stolen.message).toBe(missing.message);
      const item = await client.responses
        .create({ model: 'gpt-4o', input: [{ type: 'item_reference', id: first.output[0]?.id ?? '' }] })
        .catch((e: unknown) => e);
      expect(item).toBeInstanceOf(NotFoundError);
    }
    expect(asked()).toBe(before);
  });

  it('answers an altered id with 404, even for the caller it was given to', async () => {
    const gina = clientFor(await identity.token('gina'));
    const first = await gina.responses.create({ model: 'gpt-4o', input: 'Hello' });
    const [id = '', tag = '', region = ''] = first.id.split('~');
    const before = asked();
    for (const altered of [`${id}~${region}`, id, `${id}~${tag}~swedencentral`, `${id}~${tag.slice(1)}x~${region}`]) {
      expect(await refusal(gina, altered)).toMatchObject({ status: 404, code: 'previous_response_not_found' });
    }
    expect(asked()).toBe(before);
  });
});

/** The error a follow-up of `id` gets, as the official client raises it. */
async function refusal(client: OpenAI, id: string): Promise<{ status: number; code: unknown; message: unknown }> {
  const error = await client.responses
    .create({ model: 'gpt-4o', input: 'More', previous_response_id: id })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(NotFoundError);
  const body = (error as NotFoundError).error as { code?: unknown; message?: unknown };
  return { status: (error as NotFoundError).status, code: body.code, message: body.message };
}
