/**
 * Chat handlers with a conversation, on the real chat service over two simulated regions and the real
 * Table Storage client against Azurite: what is stored when a stream ends, breaks or is left, on a retry,
 * and when the store is out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import type { Caller } from '../../shared/auth/caller';
import { CONVERSATION_DEFAULTS, ConversationService, ConversationTable } from '../../shared/conversations';
import { quotaSettings, quotaTableClient } from '../../shared/quota';
import { conversations, newUser } from '../conversations/conversations';
import { recordingLogger } from '../quota/quota';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { useAzurite } from '../stand-ins/azurite';
import { bodyText, invocation, jsonRequest } from './http';

const azurite = useAzurite();
let regions: TwoRegions;
beforeAll(async () => {
  regions = await startTwoRegions({ primary: { latency: { firstTokenMs: 0, perTokenMs: 5 } } });
});
afterAll(async () => {
  await regions?.close();
});

const story = (text: string, sessionState?: unknown) => ({
  messages: [{ role: 'user', content: text }],
  context: { max_tokens: 60 },
  ...(sessionState === undefined ? {} : { sessionState }),
});

function setup(settings: Record<string, string> = {}) {
  const history = conversations(azurite.connectionString);
  const chat = regions.service(settings, { history });
  return { history, chat, post: createChatPostHandler({ chat }), stream: createChatStreamHandler({ chat }) };
}

/** The last line of a JSON-lines answer. */
function lastLine(text: string): Record<string, unknown> {
  return JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

async function storedAnswer(history: ConversationService, caller: Caller, id: string) {
  return (await history.read(caller, id, { pageSize: 50 })).messages.filter((m) => m.role === 'assistant').at(-1);
}

describe('a chat in a conversation', () => {
  it('starts a conversation for a signed-in user, stores the streamed answer when it ends, and continues it', async () => {
    const { history, stream } = setup();
    const alice = newUser();
    const first = await stream(jsonRequest('/api/chat/stream', story('Tell me about Paris')), invocation(), alice);
    const end = lastLine(await bodyText(first)) as {
      sessionState: { conversationId: string };
      context: { usage: { promptTokens: number } };
    };
    const id = end.sessionState.conversationId;
    expect(end).toMatchObject({
      context: { conversation: { state: 'stored', id, title: 'Tell me about Paris', turn: 0 } },
    });
    const second = await stream(
      jsonRequest('/api/chat/stream', story('And Rome?', { conversationId: id })),
      invocation(),
      alice,
    );
    const next = lastLine(await bodyText(second)) as { context: { usage: { promptTokens: number } } };
    // The model got the first turn too.
    expect(next.context.usage.promptTokens).toBeGreaterThan(end.context.usage.promptTokens + 10);
    const page = await history.read(alice, id, { pageSize: 10 });
    expect(page.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
  });

  it('keeps a stateless chat stateless: context.store false, and service callers that name no conversation', async () => {
    const { post } = setup();
    const optedOut = await post(
      jsonRequest('/api/chat', { ...story('Hi'), context: { store: false } }),
      invocation(),
      newUser(),
    );
    const service = await post(jsonRequest('/api/chat', story('Hi', 'opaque')), invocation(), {
      kind: 'service',
      id: 'service',
    });
    for (const response of [optedOut, service]) {
      const body = JSON.parse(await bodyText(response)) as { context: Record<string, unknown>; sessionState?: unknown };
      expect(body.context.conversation).toBeUndefined();
    }
    expect((JSON.parse(await bodyText(service)) as { sessionState: unknown }).sessionState).toBe('opaque');
  });

  it('keeps nothing of a chat no region answered (both down, or throttled): the conversation reads as before', async () => {
    const { history, post, stream } = setup();
    const dan = newUser();
    const id = lastLine(
      await bodyText(await stream(jsonRequest('/api/chat/stream', story('First')), invocation(), dan)),
    ).sessionState as { conversationId: string };
    const before = await history.read(dan, id.conversationId, { pageSize: 50 });
    try {
      for (const fault of [{ kind: 'outage' }, { kind: 'throttle', retryAfterMs: 60_000 }] as const) {
        regions.primary.setFault(fault);
        regions.secondary.setFault(fault);
        const failed = await post(jsonRequest('/api/chat', story('Lost?', id)), invocation(), dan);
        expect(failed.status).toBeGreaterThanOrEqual(429);
      }
    } finally {
      regions.primary.setFault({ kind: 'none' });
      regions.secondary.setFault({ kind: 'none' });
    }
    // Only its time of last change moved (the user was in it).
    const { updated: _updated, ...unchanged } = before;
    expect(await history.read(dan, id.conversationId, { pageSize: 50 })).toEqual({
      ...unchanged,
      updated: expect.any(String),
    });
  });

  it('stores a stream the client left as partial, marked client-disconnected', async () => {
    const { history, stream } = setup();
    const bob = newUser();
    const response = await stream(
      jsonRequest('/api/chat/stream', { ...story('Tell me a long story'), context: { max_tokens: 400 } }),
      invocation(),
      bob,
    );
    const id = (response.headers as Record<string, string>)['x-conversation-id'] ?? '';
    const reader = new Response(
      response.body as unknown as ConstructorParameters<typeof Response>[0],
    ).body?.getReader();
    expect((await reader?.read())?.done).toBe(false);
    await reader?.cancel();
    await expect
      .poll(() => storedAnswer(history, bob, id), { timeout: 10_000 })
      .toMatchObject({
        status: 'partial',
        partialReason: 'client-disconnected',
      });
  });

  it('stores a stream that broke mid-answer as partial, marked interrupted, with the text the client got', async () => {
    const { history, stream } = setup({ CHAT_MAX_CONTINUATIONS: '0' });
    const carol = newUser();
    regions.primary.setFault({ kind: 'reset-midstream', afterChunks: 3 });
    try {
      const response = await stream(jsonRequest('/api/chat/stream', story('Tell me a story')), invocation(), carol);
      const id = (response.headers as Record<string, string>)['x-conversation-id'] ?? '';
      const lines = (await bodyText(response))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ error: { code: 'stream_interrupted' } });
      const got = lines.map((l) => (l.delta as { content?: string } | undefined)?.content ?? '').join('');
      expect(await storedAnswer(history, carol, id)).toMatchObject({
        content: got,
        status: 'partial',
        partialReason: 'interrupted',
      });
    } finally {
      regions.primary.setFault({ kind: 'none' });
    }
  });

  it('does not store a retried request twice (same Idempotency-Key)', async () => {
    const { history, post } = setup();
    const dave = newUser();
    const send = () =>
      post(jsonRequest('/api/chat', story('Only once'), { 'idempotency-key': 'retry-1' }), invocation(), dave);
    const [a, b] = [JSON.parse(await bodyText(await send())), JSON.parse(await bodyText(await send()))] as {
      sessionState: { conversationId: string };
    }[];
    expect(b?.sessionState.conversationId).toBe(a?.sessionState.conversationId);
    const page = await history.read(dave, a?.sessionState.conversationId ?? '', { pageSize: 10 });
    expect(page.messageCount).toBe(2);
    expect((await history.list(dave, { pageSize: 10 })).conversations).toHaveLength(1);
  });

  it('answers without history when the store is out, and says so', async () => {
    const settings = quotaSettings({
      CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString.replace(/:\d+\//, ':9/'),
    });
    if (settings.store.kind === 'none') throw new Error('expected a store');
    const log = recordingLogger();
    const table = new ConversationTable({ client: quotaTableClient(settings.store, 'conversations'), timeoutMs: 500 });
    const history = new ConversationService({ limits: CONVERSATION_DEFAULTS, table, logger: log });
    const post = createChatPostHandler({ chat: regions.service({}, { history }) });
    const response = await post(jsonRequest('/api/chat', story('Anyone there?')), invocation(), newUser());
    expect(response.status).toBe(200);
    const body = JSON.parse(await bodyText(response)) as { context: { conversation: unknown }; sessionState?: unknown };
    expect(body.context.conversation).toMatchObject({
      state: 'unavailable',
      warning: expect.stringContaining('unavailable'),
    });
    expect(body.sessionState).toBeUndefined();
    expect((response.headers as Record<string, string>)['x-conversation-state']).toBe('unavailable');
  });
});
