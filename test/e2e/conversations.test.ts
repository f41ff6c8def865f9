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

describe('one chat is one conversation', () => {
  it('makes one conversation of four turns from four openai SDK calls that each resend the whole history', async () => {
    const alice = user();
    const openai = new OpenAI({
      baseURL: `${backend.host.url}/api/v1/`,
      apiKey: await identity.token(alice.user),
      maxRetries: 0,
    });
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'system', content: 'Answer briefly.' }];
    const ids: (string | null)[] = [];
    let promptTokens = 0;
    for (const [i, text] of ['Name a river', 'And a lake?', 'A mountain?', 'A desert?'].entries()) {
      messages.push({ role: 'user', content: text });
      if (i % 2 === 0) {
        const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
        ids.push(response.headers.get('x-conversation-id'));
        promptTokens = data.usage?.prompt_tokens ?? NaN;
        // What SDK users do: push the message object as it came (with refusal, annotations...).
        messages.push(data.choices[0]!.message);
      } else {
        const { data: stream, response } = await openai.chat.completions
          .create({ model: 'gpt-4o', messages, stream: true })
          .withResponse();
        let answer = '';
        for await (const chunk of stream) answer += chunk.choices[0]?.delta.content ?? '';
        ids.push(response.headers.get('x-conversation-id'));
        messages.push({ role: 'assistant', content: answer });
      }
    }
    const list = (await (await call(alice, 'GET', '/conversations')).json()) as {
      conversations: { id: string; title: string; messageCount: number }[];
    };
    expect(list.conversations).toHaveLength(1);
    const [only] = list.conversations;
    expect(only).toMatchObject({ title: 'Name a river', messageCount: 9 });
    expect([ids[0], ids[2]]).toEqual([only?.id, only?.id]);
    expect(ids.filter((id) => id !== null).every((id) => id === only?.id)).toBe(true);
    const page = (await (await call(alice, 'GET', `/conversations/${only?.id}`)).json()) as {
      messages: { turn: number; role: string; content: unknown }[];
    };
    expect(page.messages.map((m) => [m.turn, m.role])).toEqual([
      [0, 'system'],
      [0, 'user'],
      [0, 'assistant'],
      [1, 'user'],
      [1, 'assistant'],
      [2, 'user'],
      [2, 'assistant'],
      [3, 'user'],
      [3, 'assistant'],
    ]);
    expect(page.messages.map((m) => m.content)).toEqual(messages.map((m) => m.content));
    // A Responses API chat keeps its history in the region (previous_response_id): it makes no conversation.
    const opening = await openai.responses.create({ model: 'gpt-4o', input: 'Name a sea' });
    await openai.responses.create({ model: 'gpt-4o', input: 'Another?', previous_response_id: opening.id });
    const after = (await (await call(alice, 'GET', '/conversations')).json()) as { conversations: unknown[] };
    expect(after.conversations).toHaveLength(1);
    // The third call was sent to the model as the client sent it: the history not added a second time.
    const stateless = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: messages.slice(0, 6),
      store: false,
    });
    expect(stateless.usage?.prompt_tokens).toBe(promptTokens);
  });

  it('never shows a failed question on reload nor sends it again, on the chat protocol and the SDK', async () => {
    const bob = user();
    const id = await chat(bob, 'First question');
    const refused = await call(bob, 'POST', '/chat', {
      messages: [{ role: 'user', content: 'Blocked [[filter-prompt]]' }],
      sessionState: { conversationId: id },
    });
    expect(refused.status).toBe(400);
    const reload = async () =>
      ((await (await call(bob, 'GET', `/conversations/${id}`)).json()) as { messages: { content: unknown }[] })
        .messages;
    expect((await reload()).map((m) => m.content)).not.toContain('Blocked [[filter-prompt]]');
    expect(await reload()).toHaveLength(2);
    const openai = new OpenAI({
      baseURL: `${backend.host.url}/api/v1/`,
      apiKey: await identity.token(bob.user),
      maxRetries: 0,
    });
    const failed = openai.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Also blocked [[filter-prompt]]' }] },
      { headers: { 'x-conversation-id': id } },
    );
    await expect(failed).rejects.toMatchObject({ status: 400 });
    const second = await call(bob, 'POST', '/chat', {
      messages: [{ role: 'user', content: 'Second question' }],
      sessionState: { conversationId: id },
    });
    expect(second.status).toBe(200);
    const { context } = (await second.json()) as { context: { usage: { prompt_tokens: number } } };
    const messages = await reload();
    // The model got the answered turn and the new question, nothing of the failed ones.
    const alone = await call(bob, 'POST', '/chat', {
      messages: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: messages[1]?.content },
        { role: 'user', content: 'Second question' },
      ],
      context: { store: false },
    });
    const stateless = (await alone.json()) as { context: { usage: { prompt_tokens: number } } };
    expect(stateless.context.usage.prompt_tokens).toBe(context.usage.prompt_tokens);
    expect(messages.map((m) => m.content)).toEqual([
      'First question',
      messages[1]?.content,
      'Second question',
      messages[3]?.content,
    ]);
    const list = (await (await call(bob, 'GET', '/conversations')).json()) as {
      conversations: { messageCount: number }[];
    };
    expect(list.conversations.map((c) => c.messageCount)).toEqual([4]);
  });

  it('keeps no conversation whose only question failed', async () => {
    const carol = user();
    const refused = await call(carol, 'POST', '/chat', { messages: [{ role: 'user', content: '[[filter-prompt]]' }] });
    expect(refused.status).toBe(400);
    expect(await (await call(carol, 'GET', '/conversations')).json()).toEqual({ conversations: [] });
  });
});
