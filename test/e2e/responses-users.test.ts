/**
 * Issue 15: the Responses API takes the same callers as chat (signed-in users' access tokens, service
 * keys) and counts the same per-user quota.
 */
import OpenAI, { AuthenticationError, RateLimitError } from 'openai';
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
