/**
 * Signed-in users through the whole backend on the local host: the local OpenID Connect provider mints
 * Entra-shaped access tokens, the app checks them (chat routes are anonymous for the host), and service
 * callers keep a key (CHAT_SERVICE_KEYS). Front-ends using the openai SDK pass the access token as its key.
 */
import OpenAI, { AuthenticationError, PermissionDeniedError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../local/identity';
import { FUNCTION_KEY, startSignedInBackend, type Backend, type SignedInBackend } from './backend';

let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  signedIn = await startSignedInBackend();
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

const hello = { messages: [{ role: 'user', content: 'Hello' }] };

function chat(headers: Record<string, string>): Promise<Response> {
  return fetch(`${backend.host.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(hello),
  });
}

/** The openai client as a signed-in front-end builds it: the access token is its API key (sent as Bearer). */
function clientFor(token: string): OpenAI {
  return new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey: token, maxRetries: 0 });
}

describe('signed-in users', () => {
  it('registers the chat routes as anonymous for the host: the app checks every caller', () => {
    const chatRoutes = backend.host.functions.filter(
      (f) => f.route.startsWith('/api/chat') || f.route.startsWith('/api/v1'),
    );
    expect(chatRoutes.map((f) => f.authLevel)).toEqual(chatRoutes.map(() => 'anonymous'));
  });

  it('answers a user with a valid access token, through the official openai client', async () => {
    const completion = await clientFor(await identity.token('alice')).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
  });

  it('answers a service caller with one of CHAT_SERVICE_KEYS, and refuses a wrong key', async () => {
    expect((await chat({ 'x-functions-key': FUNCTION_KEY })).status).toBe(200);
    const wrong = await chat({ 'x-functions-key': 'not-the-key' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('asks a caller with nothing to sign in: 401, WWW-Authenticate: Bearer, the one error body', async () => {
    const response = await chat({});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toMatchObject({ code: 'unauthorized', requestId: response.headers.get('x-request-id') });
    expect(body.error.message).toContain('Authorization: Bearer');
  });

  it('refuses a token for another API without telling the caller which audience or tenant is expected', async () => {
    const token = await identity.token('alice', { claims: { aud: 'api://some-other-api' } });
    const error = await clientFor(token)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    const text = JSON.stringify((error as AuthenticationError).error);
    expect(text).not.toContain(identity.audience);
    expect(text).not.toContain(identity.tenantId);
  });

  it('answers 403 to a valid token that lacks the chat scope', async () => {
    const error = await clientFor(await identity.token('alice', { scope: 'profile' }))
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).error).toMatchObject({ code: 'forbidden' });
    expect((error as PermissionDeniedError).headers?.get('www-authenticate')).toBe('Bearer error="insufficient_scope"');
  });

  it('streams to a signed-in user on the AI Chat Protocol endpoint', async () => {
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await identity.token('bob')}` },
      body: JSON.stringify(hello),
    });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trim().split('\n');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ context: { finishReason: 'stop' } });
  });
});
