/**
 * Tool calls in a stored conversation (Azurite, a signed-in user): the call is stored with its turn, the
 * client's next request sends only the tool results (with `x-conversation-id`), the model gets the call
 * and its results together, and the conversation lists both.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../local/identity';
import { useAzurite } from '../stand-ins/azurite';
import { startSignedInBackend, type Backend, type SignedInBackend } from './backend';

const azurite = useAzurite();
let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  signedIn = await startSignedInBackend({ CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

describe('tool calls in a stored conversation', () => {
  it.each([false, true])('stores the call and its result in their turns (streamed: %s)', async (stream) => {
    const token = await identity.token(`tools-${String(stream)}`);
    const client = new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey: token, maxRetries: 0 });
    const question = { role: 'user' as const, content: 'What time is it? Use get_time.' };
    let callId: string;
    let conversation: string | null;
    if (stream) {
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [question], tools, stream: true })
        .withResponse();
      let id = '';
      for await (const chunk of data) id ||= chunk.choices[0]?.delta.tool_calls?.[0]?.id ?? '';
      callId = id;
      conversation = response.headers.get('x-conversation-id');
    } else {
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [question], tools })
        .withResponse();
      callId = data.choices[0]?.message.tool_calls?.[0]?.id ?? '';
      conversation = response.headers.get('x-conversation-id');
    }
    expect(callId).toMatch(/^call_/);
    expect(conversation).toBeTruthy();

    // Only the new turn: the result. The backend puts the stored call before it.
    const answer = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: callId, content: '08:15' }], tools },
      { headers: { 'x-conversation-id': conversation } },
    );
    expect(answer.choices[0]?.message.content).toMatch(/^The get_time tool returned 08:15\. /);

    const stored = await fetch(`${backend.host.url}/api/conversations/${conversation ?? ''}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { messages } = (await stored.json()) as {
      messages: { turn: number; role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string }[];
    };
    expect(messages.map((m) => [m.turn, m.role])).toEqual([
      [0, 'user'],
      [0, 'assistant'],
      [1, 'tool'],
      [1, 'assistant'],
    ]);
    expect(messages[1]).toMatchObject({
      content: null,
      tool_calls: [{ id: callId, type: 'function', function: { name: 'get_time', arguments: '{}' } }],
    });
    expect(messages[2]).toMatchObject({ tool_call_id: callId, content: '08:15' });
  });

  it('goes on after a call the client never answered (a new question instead)', async () => {
    const token = await identity.token('tools-unanswered');
    const client = new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey: token, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'get_time' }], tools })
      .withResponse();
    const next = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Never mind. Hello!' }], tools },
      { headers: { 'x-conversation-id': response.headers.get('x-conversation-id') } },
    );
    expect(next.choices[0]?.finish_reason).toBe('stop');
  });
});
