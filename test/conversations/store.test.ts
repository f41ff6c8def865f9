/**
 * Conversations through the real @azure/data-tables client against Azurite: each test its own users,
 * so the tests hold in any order.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../shared/auth/caller';
import { newConversationId, type ConversationTurn } from '../../shared/conversations';
import { partitionKey } from '../../shared/quota';
import { countPromptTokens } from '../../shared/tokens';
import { useAzurite } from '../stand-ins/azurite';
import { conversations, newUser, rowsOf } from './conversations';

const azurite = useAzurite();
const user = (text: string): ChatCompletionMessageParam => ({ role: 'user', content: text });

/** One whole turn: the question stored, then the answer. */
async function chatTurn(
  service: ReturnType<typeof conversations>,
  caller: Caller,
  id: string,
  text: string,
  options: { start?: boolean; key?: string } = {},
): Promise<ConversationTurn> {
  const turn = await service.begin({
    caller,
    conversation: { kind: options.start ? 'start' : 'continue', id },
    messages: [user(text)],
    ...(options.key ? { idempotencyKey: options.key } : {}),
    logger: service.log,
  });
  await turn.finish({ text: `answer to ${text}`, outcome: 'completed', finishReason: 'stop' });
  return turn;
}

describe('a conversation in Table Storage', () => {
  it('stores the question and the answer, in order, and sends the history with the next question', async () => {
    const service = conversations(azurite.connectionString);
    const alice = newUser();
    const id = newConversationId();
    await chatTurn(service, alice, id, 'What is the capital of France and why?', { start: true });
    const second = await chatTurn(service, alice, id, 'And of Spain?');
    expect(second.messages).toEqual([
      user('What is the capital of France and why?'),
      { role: 'assistant', content: 'answer to What is the capital of France and why?' },
      user('And of Spain?'),
    ]);
    const page = await service.read(alice, id, { pageSize: 50 });
    expect(page).toMatchObject({ id, title: 'What is the capital of France and why?', messageCount: 4 });
    expect(page.messages.map((m) => [m.turn, m.role, m.status])).toEqual([
      [0, 'user', 'complete'],
      [0, 'assistant', 'complete'],
      [1, 'user', 'complete'],
      [1, 'assistant', 'complete'],
    ]);
    expect(second.outcome()).toMatchObject({ state: 'stored', id, turn: 1 });
  });

  it('keeps users apart: another user’s conversation answers 404 to read, rename, delete and a chat', async () => {
    const service = conversations(azurite.connectionString);
    const [alice, mallory] = [newUser(), newUser()];
    const id = newConversationId();
    await chatTurn(service, alice, id, 'secret plans', { start: true });
    const attempts = [
      service.read(mallory, id, { pageSize: 10 }),
      service.rename(mallory, id, 'mine now'),
      service.remove(mallory, id),
      chatTurn(service, mallory, id, 'tell me'),
    ];
    for (const attempt of attempts) await expect(attempt).rejects.toMatchObject({ code: 'not_found', status: 404 });
    expect((await service.list(mallory, { pageSize: 10 })).conversations).toEqual([]);
    expect((await service.read(alice, id, { pageSize: 10 })).messageCount).toBe(2);
  });

  it('lists newest change first, a page at a time with a continuation token', async () => {
    const service = conversations(azurite.connectionString);
    const bob = newUser();
    const ids = Array.from({ length: 5 }, () => newConversationId());
    for (const [i, id] of ids.entries()) await chatTurn(service, bob, id, `question ${i}`, { start: true });
    await chatTurn(service, bob, ids[1]!, 'back to the second');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await service.list(bob, { pageSize: 2, ...(token ? { continuationToken: token } : {}) });
      expect(page.conversations.length).toBeLessThanOrEqual(2);
      seen.push(...page.conversations.map((c) => c.id));
      token = page.continuationToken;
    } while (token);
    expect(seen).toEqual([ids[1], ids[4], ids[3], ids[2], ids[0]]);
    await expect(service.list(bob, { pageSize: 2, continuationToken: 'not-a-token' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('pages a long conversation’s messages by turns, in order', async () => {
    const service = conversations(azurite.connectionString);
    const carol = newUser();
    const id = newConversationId();
    for (let i = 0; i < 5; i++) await chatTurn(service, carol, id, `q${i}`, { start: i === 0 });
    const contents: unknown[] = [];
    let token: string | undefined;
    do {
      const page = await service.read(carol, id, { pageSize: 2, ...(token ? { continuationToken: token } : {}) });
      contents.push(...page.messages.map((m) => m.content));
      token = page.continuationToken;
    } while (token);
    expect(contents).toEqual([
      'q0',
      'answer to q0',
      'q1',
      'answer to q1',
      'q2',
      'answer to q2',
      'q3',
      'answer to q3',
      'q4',
      'answer to q4',
    ]);
  });

  it('renames, and deletes a conversation with every row of it', async () => {
    const service = conversations(azurite.connectionString);
    const dave = newUser();
    const [keep, drop] = [newConversationId(), newConversationId()];
    await chatTurn(service, dave, keep, 'keep me', { start: true });
    await chatTurn(service, dave, drop, 'drop me', { start: true, key: 'k-1' });
    expect(await service.rename(dave, keep, '  Kept\nfor later ')).toMatchObject({ id: keep, title: 'Kept for later' });
    await service.remove(dave, drop);
    const rows = await rowsOf(azurite.connectionString, partitionKey(dave));
    expect(rows.filter((r) => r.includes(drop))).toEqual([]);
    expect((await service.list(dave, { pageSize: 10 })).conversations.map((c) => [c.id, c.title])).toEqual([
      [keep, 'Kept for later'],
    ]);
    await expect(service.read(dave, drop, { pageSize: 10 })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('deletes all of a user’s conversations, and nothing of anyone else’s: the table has no row of theirs left', async () => {
    const service = conversations(azurite.connectionString);
    const [erin, frank] = [newUser(), newUser()];
    for (let i = 0; i < 3; i++) await chatTurn(service, erin, newConversationId(), `erin ${i}`, { start: true });
    const franks = newConversationId();
    await chatTurn(service, frank, franks, 'frank', { start: true });
    expect(await service.removeAll(erin)).toBe(3);
    expect(await rowsOf(azurite.connectionString, partitionKey(erin))).toEqual([]);
    expect((await service.read(frank, franks, { pageSize: 10 })).messageCount).toBe(2);
  });
});

describe('nothing lost, nothing doubled', () => {
  it('stores a retried request (same Idempotency-Key) once, and the new answer replaces the old', async () => {
    const service = conversations(azurite.connectionString);
    const grace = newUser();
    const id = newConversationId();
    await chatTurn(service, grace, id, 'first', { start: true, key: 'req-1' });
    const retry = await service.begin({
      caller: grace,
      conversation: { kind: 'continue', id },
      messages: [user('first')],
      idempotencyKey: 'req-1',
      logger: service.log,
    });
    expect(retry.messages).toEqual([user('first')]);
    await retry.finish({ text: 'second try', outcome: 'completed' });
    const page = await service.read(grace, id, { pageSize: 10 });
    expect(page.messageCount).toBe(2);
    expect(page.messages.map((m) => m.content)).toEqual(['first', 'second try']);
  });

  it('keeps both turns, in order, when two tabs write to one conversation at once', async () => {
    const [tab1, tab2] = [conversations(azurite.connectionString), conversations(azurite.connectionString)];
    const heidi = newUser();
    const id = newConversationId();
    await chatTurn(tab1, heidi, id, 'start', { start: true });
    const [a, b] = await Promise.all([
      chatTurn(tab1, heidi, id, 'from tab 1'),
      chatTurn(tab2, heidi, id, 'from tab 2'),
    ]);
    const page = await tab1.read(heidi, id, { pageSize: 10 });
    expect(page.messageCount).toBe(6);
    const turns = page.messages.slice(2).map((m) => m.content);
    const expected = [a, b]
      .sort((x, y) => (x.outcome() as { turn: number }).turn - (y.outcome() as { turn: number }).turn)
      .flatMap((t) => {
        const question = t.messages.at(-1)?.content as string;
        return [question, `answer to ${question}`];
      });
    expect(turns).toEqual(expected);
  });

  it('stores an answer cut short as partial, with the reason the client sees', async () => {
    const service = conversations(azurite.connectionString);
    const ivan = newUser();
    const [broken, left] = [newConversationId(), newConversationId()];
    for (const [id, outcome] of [
      [broken, 'interrupted'],
      [left, 'abandoned'],
    ] as const) {
      const turn = await service.begin({
        caller: ivan,
        conversation: { kind: 'start', id },
        messages: [user('long story')],
        logger: service.log,
      });
      await turn.finish({ text: 'Once upon a', outcome });
    }
    for (const [id, reason] of [
      [broken, 'interrupted'],
      [left, 'client-disconnected'],
    ] as const) {
      const answer = (await service.read(ivan, id, { pageSize: 10 })).messages[1];
      expect(answer).toMatchObject({
        role: 'assistant',
        content: 'Once upon a',
        status: 'partial',
        partialReason: reason,
      });
    }
  });

  it('refuses a question over the size limit with message_too_large, before storing anything', async () => {
    const service = conversations(azurite.connectionString, { limits: { maxMessageChars: 1_000 } });
    const judy = newUser();
    const id = newConversationId();
    const big = service.begin({
      caller: judy,
      conversation: { kind: 'start', id },
      messages: [user('x'.repeat(2_000))],
      logger: service.log,
    });
    await expect(big).rejects.toMatchObject({ code: 'message_too_large', status: 413 });
    expect(await rowsOf(azurite.connectionString, partitionKey(judy))).toEqual([]);
  });

  it('splits a long answer over several entities and reads it back whole', async () => {
    const service = conversations(azurite.connectionString);
    const kim = newUser();
    const id = newConversationId();
    const turn = await service.begin({
      caller: kim,
      conversation: { kind: 'start', id },
      messages: [user('essay')],
      logger: service.log,
    });
    const essay = 'word '.repeat(20_000);
    await turn.finish({ text: essay, outcome: 'completed' });
    expect((await service.read(kim, id, { pageSize: 10 })).messages[1]?.content).toBe(essay);
    expect((await rowsOf(azurite.connectionString, partitionKey(kim))).filter((r) => r.includes(':r:'))).toHaveLength(
      4,
    );
  });
});

describe('the model’s context window', () => {
  it('drops the oldest turns first, counted with the tokenizer, and keeps the system message', async () => {
    const service = conversations(azurite.connectionString, {
      limits: { contextTokens: 1_100, answerReserveTokens: 100 },
    });
    const lena = newUser();
    const id = newConversationId();
    const system: ChatCompletionMessageParam = { role: 'system', content: 'You are terse.' };
    const long = (i: number) => `turn ${i}: ${'lorem ipsum dolor sit amet '.repeat(30)}`;
    const first = await service.begin({
      caller: lena,
      conversation: { kind: 'start', id },
      messages: [system, user(long(0))],
      logger: service.log,
    });
    await first.finish({ text: 'ok', outcome: 'completed' });
    for (let i = 1; i < 6; i++) await chatTurn(service, lena, id, long(i));
    const turn = await service.begin({
      caller: lena,
      conversation: { kind: 'continue', id },
      messages: [user('last')],
      logger: service.log,
    });
    expect(countPromptTokens(turn.messages)).toBeLessThanOrEqual(1_000);
    expect(turn.messages[0]).toEqual(system);
    expect(turn.messages.at(-1)).toEqual(user('last'));
    const kept = turn.messages.filter(
      (m) => m.role === 'user' && typeof m.content === 'string' && m.content.startsWith('turn '),
    );
    // The newest turns are kept, the oldest dropped, and never half a turn.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(6);
    expect(kept.map((m) => m.content)).toEqual(
      Array.from({ length: kept.length }, (_, k) => long(6 - kept.length + k)),
    );
    expect(turn.outcome()).toMatchObject({ state: 'stored', dropped: 2 * (6 - kept.length) });
  });

  it('refuses a question that alone is over the window with context_length_exceeded, before storing it', async () => {
    const service = conversations(azurite.connectionString, {
      limits: { contextTokens: 1_100, answerReserveTokens: 100 },
    });
    const mia = newUser();
    const attempt = service.begin({
      caller: mia,
      conversation: { kind: 'start', id: newConversationId() },
      messages: [user('word '.repeat(2_000))],
      logger: service.log,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'context_length_exceeded' });
    expect(await rowsOf(azurite.connectionString, partitionKey(mia))).toEqual([]);
  });
});

describe('retention', () => {
  it('treats a conversation older than the retention as gone, and the sweep deletes its rows', async () => {
    let now = Date.now();
    const service = conversations(azurite.connectionString, { limits: { retentionDays: 30 }, now: () => now });
    const [nina, omar] = [newUser(), newUser()];
    const [old, fresh] = [newConversationId(), newConversationId()];
    await chatTurn(service, nina, old, 'long ago', { start: true });
    await chatTurn(service, omar, newConversationId(), 'omar long ago', { start: true });
    now += 31 * 86_400_000;
    await chatTurn(service, nina, fresh, 'today', { start: true });
    await expect(service.read(nina, old, { pageSize: 10 })).rejects.toMatchObject({ code: 'not_found' });
    expect((await service.list(nina, { pageSize: 10 })).conversations.map((c) => c.id)).toEqual([fresh]);
    expect(await service.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(azurite.connectionString, partitionKey(omar))).toEqual([]);
    expect((await rowsOf(azurite.connectionString, partitionKey(nina))).some((r) => r.includes(old))).toBe(false);
    expect((await service.read(nina, fresh, { pageSize: 10 })).messageCount).toBe(2);
  });

  it('stores an answer over the size limit cut at the limit, marked too-large, never silently', async () => {
    const service = conversations(azurite.connectionString, { limits: { maxMessageChars: 1_000 } });
    const pia = newUser();
    const id = newConversationId();
    const turn = await service.begin({
      caller: pia,
      conversation: { kind: 'start', id },
      messages: [user('ramble')],
      logger: service.log,
    });
    await turn.finish({ text: 'y'.repeat(1_500), outcome: 'completed' });
    expect(turn.outcome()).toMatchObject({ state: 'partial', reason: 'too-large' });
    const answer = (await service.read(pia, id, { pageSize: 10 })).messages[1];
    expect(answer).toMatchObject({ status: 'partial', partialReason: 'too-large' });
    expect(answer?.content).toHaveLength(1_000);
  });
});
