/**
 * The quota and the conversation of a chat, on the real chat service over two simulated regions, the real
 * quota and the real conversation store against Azurite: a request refused for its conversation (404, 413)
 * costs no quota request, and a request the quota refuses stores nothing. The conversation is loaded before
 * the quota is asked, and its question stored after: the same round trips as before, in another order.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../shared/auth/caller';
import type { CallerQuota, ChatService } from '../../shared/chat-service';
import { CONVERSATION_DEFAULTS, ConversationService, newConversationId } from '../../shared/conversations';
import { ChatError } from '../../shared/errors';
import { partitionKey } from '../../shared/quota';
import { instance, NOON, recordingLogger } from '../quota/quota';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { useAzurite } from '../stand-ins/azurite';
import { conversations, newUser, rowsOf } from './conversations';

const azurite = useAzurite();
let regions: TwoRegions;
beforeAll(async () => {
  regions = await startTwoRegions({ primary: { latency: { firstTokenMs: 0, perTokenMs: 0 } } });
});
afterAll(async () => {
  await regions?.close();
});

const PER_MINUTE = 5;
const question = (text: string): ChatCompletionMessageParam[] => [{ role: 'user', content: text }];

/** A chat service with a quota of PER_MINUTE requests (on a fixed clock: no minute ends mid-test) and conversations. */
function setup() {
  const quota = instance(azurite.connectionString, { limits: { userRequestsPerMinute: PER_MINUTE } });
  const atNoon: CallerQuota = { reserve: (caller, tokens) => quota.reserve(caller, tokens, NOON) };
  const history = conversations(azurite.connectionString, { limits: { maxMessageChars: 1_000 } });
  const chat = regions.service({}, { quota: atNoon, history });
  /** Requests the caller may still start this minute (asking counts one, so it is added back). */
  const left = async (caller: Caller) => ((await quota.admit(caller, NOON)).requestsRemaining ?? NaN) + 1;
  return { chat, left };
}

function chatIn(chat: ChatService, caller: Caller, kind: 'start' | 'continue', id: string, text = 'Hello') {
  return chat.complete({ messages: question(text), requestId: 'r-1', caller, conversation: { kind, id } });
}

async function refusal(work: Promise<unknown>): Promise<ChatError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  return error as ChatError;
}

describe('the quota of a chat in a conversation', () => {
  it('costs nothing for a conversation that does not exist (404) or a question too large to store (413)', async () => {
    const { chat, left } = setup();
    const alice = newUser();
    const missing = await refusal(chatIn(chat, alice, 'continue', newConversationId()));
    expect(missing).toMatchObject({ code: 'not_found', status: 404, requestId: 'r-1' });
    expect((await refusal(chatIn(chat, alice, 'continue', 'not-an-id'))).code).toBe('not_found');
    const large = await refusal(chatIn(chat, alice, 'start', newConversationId(), 'x'.repeat(2_000)));
    expect(large).toMatchObject({ code: 'message_too_large', status: 413 });
    expect(await left(alice)).toBe(PER_MINUTE);

    // A chat that goes to the model is counted, once, whether it starts a conversation or continues one.
    const id = newConversationId();
    await chatIn(chat, alice, 'start', id);
    await chatIn(chat, alice, 'continue', id, 'And then?');
    expect(await left(alice)).toBe(PER_MINUTE - 3);
  });

  it("answers another caller's conversation 404 without counting it against the one who asked", async () => {
    const { chat, left } = setup();
    const [owner, other] = [newUser(), newUser()];
    const id = newConversationId();
    await chatIn(chat, owner, 'start', id);
    expect((await refusal(chatIn(chat, other, 'continue', id))).code).toBe('not_found');
    expect(await left(other)).toBe(PER_MINUTE);
  });

  it('stores nothing of a question the quota refuses', async () => {
    const { chat } = setup();
    const bob = newUser();
    for (let i = 0; i < PER_MINUTE; i++) await chatIn(chat, bob, 'start', newConversationId());
    const before = await rowsOf(azurite.connectionString, partitionKey(bob));
    const over = await refusal(chatIn(chat, bob, 'start', newConversationId()));
    expect(over).toMatchObject({ code: 'user_quota_exceeded', status: 429, requestId: 'r-1' });
    expect(await rowsOf(azurite.connectionString, partitionKey(bob))).toEqual(before);
  });

  it('admits a chat that goes on without history once: no store configured, or the store out', async () => {
    const admits: string[] = [];
    const request = (service: ConversationService) =>
      service.begin({
        caller: newUser(),
        conversation: { kind: 'start', id: newConversationId() },
        messages: question('Hello'),
        admit: () => Promise.resolve(admits.push('admitted')),
        logger: recordingLogger(),
      });
    const unconfigured = new ConversationService({ limits: CONVERSATION_DEFAULTS, logger: recordingLogger() });
    expect((await request(unconfigured)).outcome().state).toBe('unavailable');
    // A port nobody listens on: the store does not answer.
    const gone = azurite.connectionString.replace(`:${azurite.port}/`, ':9/');
    expect((await request(conversations(gone, { timeoutMs: 1_000 }))).outcome().state).toBe('unavailable');
    expect(admits).toEqual(['admitted', 'admitted']);
  });
});
