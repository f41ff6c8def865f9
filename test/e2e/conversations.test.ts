/**
 * Conversations through the whole backend on the local host: signed-in users (the local OpenID Connect
 * provider), a service caller with a function key, Azurite as the store.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../local/identity';
import { useAzurite } from '../stand-ins/azurite';
import { FUNCTION_KEY, startSignedInBackend, type Backend, type SignedInBackend } from './backend';

const azurite = useAzurite();
let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  signedIn = await startSignedInBackend({ CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

type Who = { user: string } | 'service';

async function headersFor(who: Who): Promise<Record<string, string>> {
  return who === 'service'
    ? { 'x-functions-key': FUNCTION_KEY }
    : { authorization: `Bearer ${await identity.token(who.user)}` };
}

async function call(who: Who, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${backend.host.url}/api${path}`, {
    method,
    headers: { ...(await headersFor(who)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** One chat turn; the conversation id it was stored in. */
async function chat(who: Who, text: string, conversationId?: string): Promise<string> {
  const response = await call(who, 'POST', '/chat', {
    messages: [{ role: 'user', content: text }],
    ...(conversationId ? { sessionState: { conversationId } } : {}),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessionState: { conversationId: string } }).sessionState.conversationId;
}

const user = () => ({ user: `u-${Math.random().toString(36).slice(2)}` });

describe('conversation endpoints', () => {
  it('list, open, rename and delete a signed-in user’s conversations', async () => {
    const alice = user();
    const first = await chat(alice, 'Plan a trip to Lisbon');
    await chat(alice, 'What about food?', first);
    const second = await chat(alice, 'Explain monads briefly');
    const list = (await (await call(alice, 'GET', '/conversations')).json()) as { conversations: { id: string }[] };
    expect(list.conversations.map((c) => c.id)).toEqual([second, first]);
    const opened = (await (await call(alice, 'GET', `/conversations/${first}`)).json()) as {
      title: string;
      messages: { role: string }[];
    };
    expect(opened.title).toBe('Plan a trip to Lisbon');
    expect(opened.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const renamed = await call(alice, 'PATCH', `/conversations/${first}`, { title: 'Lisbon' });
    expect(await renamed.json()).toMatchObject({ id: first, title: 'Lisbon', messageCount: 4 });
    expect((await call(alice, 'DELETE', `/conversations/${second}`)).status).toBe(204);
    expect((await call(alice, 'GET', `/conversations/${second}`)).status).toBe(404);
    expect(await (await call(alice, 'DELETE', '/conversations')).json()).toEqual({ deleted: 1 });
    expect(await (await call(alice, 'GET', '/conversations')).json()).toEqual({ conversations: [] });
  });

  it('answers another user’s conversation with 404, the same body as a conversation that does not exist', async () => {
    const [alice, mallory] = [user(), user()];
    const id = await chat(alice, 'My secret');
    const theirs = await call(mallory, 'GET', `/conversations/${id}`);
    const none = await call(mallory, 'GET', `/conversations/${'x'.repeat(22)}`);
    expect([theirs.status, none.status]).toEqual([404, 404]);
    const [a, b] = (await Promise.all([theirs.json(), none.json()])) as { error: { code: string; message: string } }[];
    expect(a?.error.code).toBe('not_found');
    expect(a?.error.message.replace(id, 'ID')).toBe(b?.error.message.replace('x'.repeat(22), 'ID'));
    for (const method of ['PATCH', 'DELETE'])
      expect(
        (await call(mallory, method, `/conversations/${id}`, method === 'PATCH' ? { title: 'x' } : undefined)).status,
      ).toBe(404);
    const continued = await call(mallory, 'POST', '/chat', {
      messages: [{ role: 'user', content: 'hi' }],
      sessionState: { conversationId: id },
    });
    expect(continued.status).toBe(404);
    expect((await call(alice, 'GET', `/conversations/${id}`)).status).toBe(200);
  });

  it('gives the function key’s service caller a space of its own, where it starts conversations only when asked', async () => {
    const alice = user();
    await chat(alice, 'Mine');
    const stateless = await call('service', 'POST', '/chat', { messages: [{ role: 'user', content: 'stateless' }] });
    expect(((await stateless.json()) as { sessionState?: unknown }).sessionState).toBeUndefined();
    const id = await chat('service', 'Server side', 'new');
    const list = (await (await call('service', 'GET', '/conversations')).json()) as {
      conversations: { id: string; title: string }[];
    };
    expect(list.conversations.map((c) => c.title)).not.toContain('Mine');
    expect(list.conversations.map((c) => c.id)).toContain(id);
    expect((await call(alice, 'GET', `/conversations/${id}`)).status).toBe(404);
  });

  it('continues a conversation on the OpenAI-compatible endpoint with the x-conversation-id header', async () => {
    const alice = user();
    const token = await identity.token(alice.user);
    const openai = new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey: token, maxRetries: 0 });
    const first = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Name a colour' }] })
      .withResponse();
    const id = first.response.headers.get('x-conversation-id') ?? '';
    expect(first.response.headers.get('x-conversation-state')).toBe('stored');
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Another one' }], stream: true },
      { headers: { 'x-conversation-id': id } },
    );
    for await (const chunk of stream) void chunk;
    const page = (await (await call(alice, 'GET', `/conversations/${id}`)).json()) as { messageCount: number };
    expect(page.messageCount).toBe(4);
    const optedOut = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Forget me' }], store: false })
      .withResponse();
    expect(optedOut.response.headers.get('x-conversation-id')).toBeNull();
  });
});
