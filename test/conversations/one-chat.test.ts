/**
 * One chat is one conversation, however the client sends it, and a failed turn leaves nothing behind:
 * the conversation service on the real @azure/data-tables client against Azurite, each test its own user.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../shared/auth/caller';
import { carriesHistory, newConversationId, type ConversationRequest } from '../../shared/conversations';
import { partitionKey } from '../../shared/quota';
import { useAzurite } from '../stand-ins/azurite';
import { conversations, newUser, rowsOf } from './conversations';

const azurite = useAzurite();
const user = (text: string): ChatCompletionMessageParam => ({ role: 'user', content: text });
const assistant = (text: string): ChatCompletionMessageParam => ({ role: 'assistant', content: text });
type Service = ReturnType<typeof conversations>;

/**
 * What an OpenAI SDK client does: sends its whole history each call, with no conversation named (the
 * handler makes that `find` once the history has an answer in it), and appends the answer it got.
 */
async function sdkCall(service: Service, caller: Caller, history: ChatCompletionMessageParam[], text: string) {
  const messages = [...history, user(text)];
  const conversation: ConversationRequest = carriesHistory(history)
    ? { kind: 'find', id: newConversationId() }
    : { kind: 'start', id: newConversationId() };
  const turn = await service.begin({ caller, conversation, messages, logger: service.log });
  const answer = `answer to ${text}`;
  await turn.finish({ text: answer, outcome: 'completed', finishReason: 'stop' });
  return { turn, history: [...messages, assistant(answer)] };
}

describe('a client that resends the whole history', () => {
  it('makes one conversation of N turns, storing each message once and sending the history as it came', async () => {
    const service = conversations(azurite.connectionString);
    const alice = newUser();
    let history: ChatCompletionMessageParam[] = [{ role: 'system', content: 'Be brief.' }];
    const sent: ChatCompletionMessageParam[][] = [];
    for (const text of ['one', 'two', 'three', 'four']) {
      const call = await sdkCall(service, alice, history, text);
      sent.push(call.turn.messages);
      history = call.history;
    }
    const list = await service.list(alice, { pageSize: 10 });
    expect(list.conversations).toHaveLength(1);
    const page = await service.read(alice, list.conversations[0]!.id, { pageSize: 10 });
    expect(page.messageCount).toBe(9);
    expect(page.messages.map((m) => [m.turn, m.role, m.content])).toEqual([
      [0, 'system', 'Be brief.'],
      [0, 'user', 'one'],
      [0, 'assistant', 'answer to one'],
      [1, 'user', 'two'],
      [1, 'assistant', 'answer to two'],
      [2, 'user', 'three'],
      [2, 'assistant', 'answer to three'],
      [3, 'user', 'four'],
      [3, 'assistant', 'answer to four'],
    ]);
    // The model gets what the client sent, nothing of the store added to it.
    expect(sent[3]).toEqual([
      { role: 'system', content: 'Be brief.' },
      user('one'),
      assistant('answer to one'),
      user('two'),
      assistant('answer to two'),
      user('three'),
      assistant('answer to three'),
      user('four'),
    ]);
  });

  it('recognises the history however the SDK shaped the answer it resends (the whole message, text parts)', async () => {
    const service = conversations(azurite.connectionString);
    const bob = newUser();
    const first = await sdkCall(service, bob, [], 'hello');
    const resent: ChatCompletionMessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'hello' }] },
      { role: 'assistant', content: 'answer to hello', refusal: null },
    ];
    const second = await sdkCall(service, bob, resent, 'again');
    expect(second.turn.outcome()).toMatchObject({ state: 'stored', id: first.turn.outcome().id, turn: 1 });
  });

  it('starts a conversation holding everything sent when the history is stored nowhere, then goes on in it', async () => {
    const service = conversations(azurite.connectionString);
    const carol = newUser();
    const fewShot = [user('2+2'), assistant('4')];
    const first = await sdkCall(service, carol, fewShot, '3+3');
    await sdkCall(service, carol, first.history, '4+4');
    const [only] = (await service.list(carol, { pageSize: 10 })).conversations;
    const page = await service.read(carol, only!.id, { pageSize: 10 });
    expect(page.messages.map((m) => m.content)).toEqual(['2+2', '4', '3+3', 'answer to 3+3', '4+4', 'answer to 4+4']);
  });

  it('forks a chat whose stored conversation went on since (a regenerated answer) into a new, whole conversation', async () => {
    const service = conversations(azurite.connectionString);
    const dave = newUser();
    const first = await sdkCall(service, dave, [], 'pick a colour');
    await sdkCall(service, dave, first.history, 'another');
    const again = await sdkCall(service, dave, first.history, 'another');
    const list = await service.list(dave, { pageSize: 10 });
    expect(list.conversations).toHaveLength(2);
    const fork = await service.read(dave, again.turn.outcome().id, { pageSize: 10 });
    expect(fork.messages.map((m) => m.content)).toEqual([
      'pick a colour',
      'answer to pick a colour',
      'another',
      'answer to another',
    ]);
  });

  it('stores only the new turn of a request that names its conversation and resends the history', async () => {
    const service = conversations(azurite.connectionString);
    const erin = newUser();
    const first = await sdkCall(service, erin, [], 'hi');
    const id = first.turn.outcome().id;
    const messages = [...first.history, user('more')];
    const turn = await service.begin({
      caller: erin,
      conversation: { kind: 'continue', id },
      messages,
      logger: service.log,
    });
    expect(turn.messages).toEqual(messages);
    await turn.finish({ text: 'sure', outcome: 'completed' });
    const page = await service.read(erin, id, { pageSize: 10 });
    expect(page.messages.map((m) => m.content)).toEqual(['hi', 'answer to hi', 'more', 'sure']);
  });

  it('forgets the history rows with the conversation: deleting it leaves no row of it behind', async () => {
    const service = conversations(azurite.connectionString);
    const fay = newUser();
    const first = await sdkCall(service, fay, [], 'hi');
    const kept = await sdkCall(service, fay, [], 'other chat');
    await sdkCall(service, fay, first.history, 'more');
    await service.remove(fay, first.turn.outcome().id);
    const rows = await rowsOf(azurite.connectionString, partitionKey(fay));
    expect(rows.filter((r) => r.startsWith('h:'))).toHaveLength(1);
    await sdkCall(service, fay, kept.history, 'still here');
    expect((await service.read(fay, kept.turn.outcome().id, { pageSize: 10 })).messageCount).toBe(4);
  });
});

describe('a failed turn', () => {
  it('is taken out again: never sent as history, never shown as a question without an answer', async () => {
    const service = conversations(azurite.connectionString);
    const gus = newUser();
    const id = newConversationId();
    const ask = (kind: 'start' | 'continue', text: string) =>
      service.begin({ caller: gus, conversation: { kind, id }, messages: [user(text)], logger: service.log });
    const first = await ask('start', 'first');
    await first.finish({ text: 'first answer', outcome: 'completed' });
    const failed = await ask('continue', 'every region down');
    await failed.discard();
    const left = await ask('continue', 'client gone before a word');
    await left.finish({ text: '', outcome: 'abandoned' });
    const next = await ask('continue', 'second');
    expect(next.messages).toEqual([user('first'), assistant('first answer'), user('second')]);
    await next.finish({ text: 'second answer', outcome: 'completed' });
    const page = await service.read(gus, id, { pageSize: 10 });
    expect(page.messageCount).toBe(4);
    expect(page.messages.map((m) => m.content)).toEqual(['first', 'first answer', 'second', 'second answer']);
    expect((await service.list(gus, { pageSize: 10 })).conversations[0]?.messageCount).toBe(4);
  });

  it('leaves no conversation behind when it was the first, and a retry with its Idempotency-Key starts afresh', async () => {
    const service = conversations(azurite.connectionString);
    const hal = newUser();
    const id = newConversationId();
    const ask = () =>
      service.begin({
        caller: hal,
        conversation: { kind: 'start', id },
        messages: [user('hello')],
        idempotencyKey: 'k-1',
        logger: service.log,
      });
    await (await ask()).discard();
    expect((await service.list(hal, { pageSize: 10 })).conversations).toEqual([]);
    expect(await rowsOf(azurite.connectionString, partitionKey(hal))).toEqual([]);
    const retry = await ask();
    await retry.finish({ text: 'hi', outcome: 'completed' });
    expect((await service.read(hal, id, { pageSize: 10 })).messages.map((m) => m.content)).toEqual(['hello', 'hi']);
  });

  it('keeps the answer of a retried turn that failed this time', async () => {
    const service = conversations(azurite.connectionString);
    const ida = newUser();
    const id = newConversationId();
    const ask = () =>
      service.begin({
        caller: ida,
        conversation: { kind: 'start', id },
        messages: [user('hello')],
        idempotencyKey: 'k-2',
        logger: service.log,
      });
    await (await ask()).finish({ text: 'hi', outcome: 'completed' });
    await (await ask()).discard();
    expect((await service.read(ida, id, { pageSize: 10 })).messages.map((m) => m.content)).toEqual(['hello', 'hi']);
  });
});
