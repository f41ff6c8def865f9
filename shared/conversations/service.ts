/**
 * Conversations that persist: the history a chat is answered with, and the endpoints'
 * reads and writes. Storage layout: table.ts.
 *
 * A chat turn: load the conversation (one query), fit the history to the model's context window
 * (trim.ts), store the question before the model is called, and the answer once it has ended (whole,
 * or partial with a marker when the stream broke or the client left). A retry with the same
 * `Idempotency-Key` finds its turn and is answered again without storing the question twice; the new
 * answer replaces the one stored before. A store that fails or is not configured never fails a chat:
 * it is answered without history, and the outcome says so (`unavailable`, with a warning).
 */
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import type { Caller } from '../auth/caller';
import type * as TokensModule from '../tokens';
import { ChatError } from '../errors';
import type { Logger } from '../logger';
import type { AnswerToolCall } from '../tool-calls';
import { describeStoreError } from '../quota/service';
import { partitionKey } from '../quota/windows';
import { CONVERSATION_ID, idempotencyRowKey, isIndexKey, MAX_TITLE_CHARS, splitText, titleFrom } from './keys';
import { fingerprint, splitResent } from './resent';
import type { ConversationSettings } from './settings';
import type {
  ConversationSummary,
  ConversationTable,
  Header,
  LoadedConversation,
  MessageRecord,
  PartialReason,
  StoredMessage,
} from './table';
import { fitToContext, REPLY_PRIMING_TOKENS, type CountedMessage } from './trim';
import type { AnswerRecord, ConversationOutcome, ConversationTurn, TurnRequest } from './turn';

export type ConversationLimits = Pick<
  ConversationSettings,
  'retentionDays' | 'contextTokens' | 'answerReserveTokens' | 'maxMessageChars'
>;

export interface ConversationServiceOptions {
  readonly limits: ConversationLimits;
  /** The table; absent: no store configured, chats are stateless and the endpoints answer 503. */
  readonly table?: ConversationTable;
  readonly logger: Logger;
  /** Clock, epoch ms (default Date.now). */
  readonly now?: () => number;
}

/** Attempts to append a turn when other writers keep winning (each re-reads the conversation). */
const MAX_APPEND_ATTEMPTS = 8;
const DAY_MS = 86_400_000;

type Tokens = typeof TokensModule;
let tokensModule: Promise<Tokens> | undefined;

/** The tokenizer module, loaded on first use: its rank table is megabytes, never on the entry's import path. */
export function loadTokenizer(): Promise<Tokens> {
  tokensModule ??= import('../tokens.js');
  return tokensModule;
}

export class ConversationService {
  readonly #limits: ConversationLimits;
  readonly #table?: ConversationTable;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(options: ConversationServiceOptions) {
    this.#limits = options.limits;
    this.#table = options.table;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Whether a store is configured (else every chat is stateless). */
  get configured(): boolean {
    return this.#table !== undefined;
  }

  /**
   * Starts a turn: the history that fits and the question stored, before the model is called. Throws a
   * ChatError for what the client must fix (404 unknown conversation, 413 message_too_large, 400
   * context_length_exceeded); a store that fails degrades to a turn without history.
   */
  async begin(request: TurnRequest): Promise<ConversationTurn> {
    const { id } = request.conversation;
    if (!CONVERSATION_ID.test(id)) throw notFound(id);
    const admitted = { ...request, admit: once(request.admit) };
    const table = this.#table;
    if (!table) {
      await admitted.admit(0);
      return stateless(request.messages, id, 'Conversations are not configured here: this chat is not stored.');
    }
    const size = request.messages.reduce((n, m) => n + JSON.stringify(m).length, 0);
    if (size > this.#limits.maxMessageChars) throw tooLarge(size, this.#limits.maxMessageChars);
    // Counted after the admission (the quota first: a caller over it costs no tokenizer work), once, within one
    // budget for the turn's messages, yielding to the event loop (shared/tokens.ts).
    let counting: Promise<CountedMessage[]> | undefined;
    const turn = () => (counting ??= countedTurn(request.messages));
    try {
      return await this.#append(table, admitted, turn);
    } catch (error) {
      if (error instanceof ChatError) throw error;
      const why = describeStoreError(error);
      request.logger.warn('conversations: store unavailable; answering without history', { error: why });
      // The chat goes on without history: it is admitted like any (unless it was before the store failed).
      await admitted.admit(0);
      return stateless(
        request.messages,
        id,
        'The conversation store is unavailable: answered without history, not stored.',
      );
    }
  }

  /** The caller's conversations, newest change first; `continuationToken` from the previous page. */
  async list(caller: Caller, page: PageRequest): Promise<ConversationList> {
    const after = page.continuationToken === undefined ? undefined : listPosition(page.continuationToken);
    const table = this.#store();
    const partition = partitionKey(caller);
    const listed = await this.#guard(() => table.list(partition, { size: page.pageSize, ...(after ? { after } : {}) }));
    const live = listed.items.filter((c) => !this.#expired(c.updated));
    // Expired ones are the oldest, so the end of the list: deleted as they are met (the retention job sweeps the rest).
    for (const old of listed.items.filter((c) => this.#expired(c.updated)))
      await this.#guard(() => table.remove(partition, old.id));
    const next = listed.next === undefined ? {} : { continuationToken: Buffer.from(listed.next).toString('base64url') };
    return { conversations: live.map(summaryJson), ...next };
  }

  /** A conversation and its messages in order, `pageSize` turns (a question and its answer) a page. */
  async read(caller: Caller, id: string, page: PageRequest): Promise<ConversationPage> {
    const from = page.continuationToken === undefined ? 0 : turnPosition(page.continuationToken);
    const table = this.#store();
    const found = CONVERSATION_ID.test(id)
      ? await this.#guard(() => table.page(partitionKey(caller), id, { from, count: page.pageSize }))
      : undefined;
    if (!found || this.#expired(found.header.updated)) throw notFound(id);
    const next = from + page.pageSize < found.header.turns ? { continuationToken: String(from + page.pageSize) } : {};
    return { ...summaryJson(found.header), messages: found.messages.map(messageJson), ...next };
  }

  /** Renames a conversation (1 to 80 characters, one line). */
  async rename(caller: Caller, id: string, title: string): Promise<ConversationJson> {
    const table = this.#store();
    const clean = title.replace(/\s+/g, ' ').trim().slice(0, MAX_TITLE_CHARS);
    const header = CONVERSATION_ID.test(id)
      ? await this.#guard(() => table.rename(partitionKey(caller), id, clean, this.#now()))
      : undefined;
    if (!header || this.#expired(header.updated)) throw notFound(id);
    return summaryJson(header);
  }

  /** Deletes a conversation and all its messages. */
  async remove(caller: Caller, id: string): Promise<void> {
    const table = this.#store();
    const removed = CONVERSATION_ID.test(id) && (await this.#guard(() => table.remove(partitionKey(caller), id)));
    if (!removed) throw notFound(id);
  }

  /** Deletes all of the caller's conversations; how many there were. */
  async removeAll(caller: Caller): Promise<number> {
    const table = this.#store();
    return this.#guard(() => table.removeAll(partitionKey(caller)));
  }

  /** Deletes every caller's conversations unchanged for longer than the retention; how many. The retention job's work. */
  async sweepExpired(): Promise<number> {
    if (this.#limits.retentionDays === 0) return 0;
    const table = this.#store();
    let removed = 0;
    for await (const { partition, id } of table.expired(this.#now() - this.#limits.retentionDays * DAY_MS)) {
      if (await table.remove(partition, id)) removed += 1;
    }
    return removed;
  }

  #store(): ConversationTable {
    if (this.#table) return this.#table;
    throw new ChatError('conversations_unavailable', {
      message: 'Conversations are not configured on this backend.',
      diagnosis:
        'Set CHAT_STORAGE_TABLE_ENDPOINT (Azure) or CHAT_STORAGE_CONNECTION_STRING (Azurite) to keep conversations.',
    });
  }

  /** A store call; its failure is a 503 `conversations_unavailable` that says why to the operator. */
  async #guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ChatError) throw error;
      throw new ChatError('conversations_unavailable', {
        message: 'The conversation store is unavailable. Try again shortly.',
        diagnosis: describeStoreError(error),
        retryAfterMs: 5_000,
        cause: error,
      });
    }
  }

  /** Loads, fits, admits and appends, again while other writers win the header's ETag (admitted once). */
  async #append(
    table: ConversationTable,
    request: TurnRequest & { readonly admit: (historyTokens: number) => Promise<unknown> },
    countTurn: () => Promise<CountedMessage[]>,
  ): Promise<ConversationTurn> {
    const { conversation, idempotencyKey } = request;
    const partition = partitionKey(request.caller);
    const budget = this.#limits.contextTokens - (request.maxTokens ?? this.#limits.answerReserveTokens);
    const found = await this.#findResent(table, partition, request);
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const { id, loaded, resent } = await this.#locate(table, partition, request, found);
      if (!loaded && conversation.kind === 'continue') throw notFound(conversation.id);
      const replayed = loaded && idempotencyKey !== undefined ? replayOf(loaded, id, idempotencyKey) : undefined;
      const number = replayed ?? loaded?.header.turns ?? 0;
      // Only answered turns go to the model: a question whose chat failed (refused, every region down, the
      // instance gone) stays in the record but is not sent again with every later turn.
      const answered = new Set((loaded?.messages ?? []).filter((m) => m.slot === 'r').map((m) => m.turn));
      const history = (loaded?.messages ?? []).filter((m) => m.turn < number && answered.has(m.turn)).map(counted);
      // The quota is asked now, after the load and before the turn is counted or anything is stored. The history
      // added to the turn is at most what fits in the context; a client that resends its history adds none (the
      // request's own size already counts it).
      const historyTokens = history.reduce((n, m) => n + m.tokens, 0);
      await request.admit(resent ? 0 : Math.min(Math.max(0, budget), historyTokens));
      const turn = await countTurn();
      // A client that resends its history has it sent as it is (as a stateless chat): none of it is added again.
      const fitted = resent ? asSent(turn) : fitToContext({ history, turn, budget });
      // The request holds the whole chat (unless it only adds to a conversation it names): see `#turn`.
      const whole = conversation.kind !== 'continue' || resent !== undefined;
      const at = { partition, number, dropped: fitted.dropped, ...(whole ? { sent: request.messages } : {}) };
      if (replayed !== undefined && loaded) {
        const replacing = loaded.messages.some((m) => m.turn === replayed && m.slot === 'r');
        return this.#turn(table, { ...at, header: loaded.header, replacing }, fitted.messages);
      }
      const now = this.#now();
      const title = titleFrom(firstUserText(request.messages));
      const records = turn.slice(resent?.storeFrom ?? 0).map((m) => record(m.message, m.tokens, now));
      const header = await table.appendTurn(
        partition,
        { id, title, now, ...(loaded ? { loaded } : {}) },
        records,
        idempotencyKey,
      );
      if (header !== 'conflict') return this.#turn(table, { ...at, header, replacing: false }, fitted.messages);
    }
    throw new Error(`Conversation ${conversation.id}: every write lost to other writers`);
  }

  /** For a request that names no conversation but resends its history: where that history is stored, if anywhere. */
  async #findResent(
    table: ConversationTable,
    partition: string,
    request: TurnRequest,
  ): Promise<{ id: string; turn: number } | undefined> {
    if (request.conversation.kind !== 'find') return undefined;
    const { history } = splitResent(request.messages);
    return history.length === 0 ? undefined : table.findResent(partition, fingerprint(history));
  }

  /**
   * The conversation a turn goes to, loaded. A request that resends its history (`resent`) stores from
   * `storeFrom` on: its new turn in the conversation that history was found in (or that it names), or
   * everything it sent in a new conversation when the history is stored nowhere, or where the chat went on
   * since (an earlier answer regenerated, another chat that began alike): a fork, complete in itself.
   */
  async #locate(
    table: ConversationTable,
    partition: string,
    request: TurnRequest,
    found: { readonly id: string; readonly turn: number } | undefined,
  ): Promise<{ id: string; loaded?: LoadedConversation; resent?: { readonly storeFrom: number } }> {
    const { conversation, idempotencyKey } = request;
    const { history } = splitResent(request.messages);
    const resent = conversation.kind !== 'start' && history.length > 0 ? { storeFrom: history.length } : undefined;
    if (found) {
      const loaded = await this.#loadLive(table, partition, found.id);
      const retried =
        loaded && idempotencyKey !== undefined && replayOf(loaded, found.id, idempotencyKey) !== undefined;
      if (loaded && (retried || !wentOn(loaded, found.turn)))
        return { id: found.id, loaded, ...(resent ? { resent } : {}) };
    }
    const loaded = await this.#loadLive(table, partition, conversation.id);
    if (conversation.kind !== 'find' || !resent)
      return { id: conversation.id, ...(loaded ? { loaded } : {}), ...(resent ? { resent } : {}) };
    // A new conversation holds everything the client sent, when one write can hold it; else its new turn.
    const whole = fitsOneWrite(request.messages) ? 0 : resent.storeFrom;
    return { id: conversation.id, ...(loaded ? { loaded } : {}), resent: { storeFrom: whole } };
  }

  /** The conversation unless it is older than the retention (then it is deleted, and counts as gone). */
  async #loadLive(table: ConversationTable, partition: string, id: string): Promise<LoadedConversation | undefined> {
    const loaded = await table.load(partition, id);
    if (!loaded || !this.#expired(loaded.header.updated)) return loaded;
    await table.remove(partition, id);
    return undefined;
  }

  #expired(updated: number): boolean {
    return this.#limits.retentionDays > 0 && updated < this.#now() - this.#limits.retentionDays * DAY_MS;
  }

  /**
   * A turn whose question is stored: `finish` stores its answer, `discard` takes the question out again.
   * `sent`: the request sent the whole chat, so the stored answer records the fingerprint of it and the
   * answer, by which the client's next call (resending all that) finds this conversation.
   */
  #turn(
    table: ConversationTable,
    at: {
      partition: string;
      header: Header;
      number: number;
      replacing: boolean;
      dropped: number;
      sent?: readonly ChatCompletionMessageParam[];
    },
    messages: ChatCompletionMessageParam[],
  ): ConversationTurn {
    const { id, title } = at.header;
    let outcome: ConversationOutcome = { state: 'stored', id, title, turn: at.number, dropped: at.dropped };
    const discard = async () => {
      outcome = { state: 'unavailable', id, warning: 'The chat failed: its question is not kept in the conversation.' };
      // A retried turn that was answered before keeps that answer.
      if (at.replacing) return;
      try {
        await table.dropTurn(at.partition, { id, turn: at.number });
      } catch (error) {
        this.#logger.warn('conversations: failed turn not taken out', {
          conversation: id,
          error: describeStoreError(error),
        });
      }
    };
    const finish = async (answer: AnswerRecord) => {
      // Nothing of an answer reached the client: the turn failed, as if no region had answered.
      if (answer.text === '' && answer.outcome !== 'completed') return discard();
      const stored = await this.#answerRecord(answer);
      const sent = at.sent && fingerprint([...at.sent, { role: 'assistant', content: answer.text }]);
      try {
        await table.storeAnswer(
          at.partition,
          {
            header: at.header,
            turn: at.number,
            replacing: at.replacing,
            now: this.#now(),
            ...(sent ? { fingerprint: sent } : {}),
          },
          stored,
        );
        if (stored.partialReason)
          outcome = { state: 'partial', id, title, turn: at.number, reason: stored.partialReason };
      } catch (error) {
        this.#logger.warn('conversations: answer not stored', { conversation: id, error: describeStoreError(error) });
        outcome = { state: 'unavailable', id, warning: 'The answer could not be stored in the conversation.' };
      }
    };
    return { messages, outcome: () => outcome, finish, discard };
  }

  /** The answer as stored: cut at the size limit (marked), partial when the stream did not finish. */
  async #answerRecord(answer: AnswerRecord): Promise<MessageRecord> {
    const max = this.#limits.maxMessageChars;
    const tooLong = answer.text.length > max;
    const calls = answer.toolCalls ?? [];
    const message: ChatCompletionMessageParam = {
      role: 'assistant',
      // A message that only calls tools has no text, as OpenAI writes it.
      content: tooLong ? answer.text.slice(0, max) : calls.length > 0 && answer.text === '' ? null : answer.text,
      ...(calls.length > 0 ? { tool_calls: calls.map(toolCallParam) } : {}),
    };
    const reason: PartialReason | undefined = tooLong
      ? 'too-large'
      : answer.outcome === 'interrupted'
        ? 'interrupted'
        : answer.outcome === 'abandoned'
          ? 'client-disconnected'
          : undefined;
    const tokens =
      answer.completionTokens !== undefined && !reason
        ? answer.completionTokens + REPLY_PRIMING_TOKENS + 1
        : await messageTokens(await loadTokenizer(), message);
    return {
      ...record(message, tokens, this.#now()),
      ...(reason ? { status: 'partial' as const, partialReason: reason } : {}),
      ...(answer.finishReason ? { finishReason: answer.finishReason } : {}),
    };
  }
}

function toolCallParam(call: AnswerToolCall): ChatCompletionMessageToolCall {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/** `admit`, called at most once however often the result is asked for (a turn that re-reads after a conflict). */
function once(
  admit: ((historyTokens: number) => Promise<unknown>) | undefined,
): (historyTokens: number) => Promise<unknown> {
  let admitted: Promise<unknown> | undefined;
  return (historyTokens) => (admitted ??= admit?.(historyTokens) ?? Promise.resolve());
}

/** The turn's messages with their token counts: one counting budget for them all, the event loop free meanwhile. */
async function countedTurn(messages: readonly ChatCompletionMessageParam[]): Promise<CountedMessage[]> {
  const tokens = await loadTokenizer();
  const budget = tokens.countBudget();
  const counted: CountedMessage[] = [];
  for (const message of messages)
    counted.push({ message, tokens: await messageTokens(tokens, message, budget), turn: -1 });
  return counted;
}

/** A turn that is neither loaded nor stored: the request's messages as they are. */
function stateless(messages: readonly ChatCompletionMessageParam[], id: string, warning: string): ConversationTurn {
  const outcome: ConversationOutcome = { state: 'unavailable', id, warning };
  const none = () => Promise.resolve();
  return { messages: [...messages], outcome: () => outcome, finish: none, discard: none };
}

/** Whether the conversation went on after turn `turn`: a later turn has an answer. */
function wentOn(loaded: LoadedConversation, turn: number): boolean {
  return loaded.messages.some((m) => m.slot === 'r' && m.turn > turn);
}

/** Messages as the client sent them, none dropped: a client that resends its history keeps it itself. */
function asSent(turn: readonly CountedMessage[]): { messages: ChatCompletionMessageParam[]; dropped: number } {
  return { messages: turn.map((m) => m.message), dropped: 0 };
}

/**
 * Entities one turn may take: a transaction holds 100, and the header, the listing row (deleted and
 * created) and the idempotency row go with the turn's messages.
 */
const MAX_TURN_ENTITIES = 96;

/** Whether these messages fit one transaction as a turn's rows (each message split into 30 000-character parts). */
function fitsOneWrite(messages: readonly ChatCompletionMessageParam[]): boolean {
  const rows = messages.reduce((n, m) => n + splitText(JSON.stringify(m)).length, 0);
  return messages.length < 100 && rows <= MAX_TURN_ENTITIES;
}

/** The turn a request with this `Idempotency-Key` stored before, if any. */
function replayOf(loaded: LoadedConversation, id: string, key: string): number | undefined {
  return loaded.keys.get(idempotencyRowKey(id, key));
}

/**
 * Cost of one message in prompt tokens: its content and role plus 3 tokens of framing; exact within `budget`
 * (default: one of its own), estimated past it (shared/tokens.ts).
 */
export async function messageTokens(
  tokens: Tokens,
  message: ChatCompletionMessageParam,
  budget: TokensModule.CountBudget = tokens.countBudget(),
): Promise<number> {
  return (await tokens.countPromptTokensAsync([message], budget)) - REPLY_PRIMING_TOKENS;
}

function counted(stored: { body: string; tokens: number; turn: number }): CountedMessage {
  return { message: JSON.parse(stored.body) as ChatCompletionMessageParam, tokens: stored.tokens, turn: stored.turn };
}

function record(message: ChatCompletionMessageParam, tokens: number, now: number): MessageRecord {
  return { role: message.role, body: JSON.stringify(message), tokens, created: now, status: 'complete' };
}

function firstUserText(messages: readonly ChatCompletionMessageParam[]): string {
  const user = messages.find((m) => m.role === 'user');
  if (!user) return '';
  if (typeof user.content === 'string') return user.content;
  return user.content.map((p) => (p.type === 'text' ? p.text : '')).join(' ');
}

/** The same answer for a conversation that does not exist and one of another caller: no existence oracle. */
export function notFound(id: string): ChatError {
  return new ChatError('not_found', { message: `No conversation "${id.slice(0, 64)}".` });
}

function tooLarge(size: number, max: number): ChatError {
  return new ChatError('message_too_large', {
    message: `The message is too large to store in a conversation: ${size} characters, at most ${max}. Send it without a conversation (stateless) or shorten it.`,
  });
}

/** A page asked for: its size and the previous page's continuation token. */
export interface PageRequest {
  readonly pageSize: number;
  readonly continuationToken?: string;
}

/** A conversation as the endpoints show it; times are ISO 8601. */
export interface ConversationJson {
  readonly id: string;
  readonly title: string;
  readonly created: string;
  readonly updated: string;
  readonly messageCount: number;
}

export interface ConversationList {
  readonly conversations: ConversationJson[];
  readonly continuationToken?: string;
}

export interface MessageJson {
  readonly turn: number;
  readonly role: string;
  readonly content: ChatCompletionMessageParam['content'];
  /** An assistant message's function calls; a `tool` message's answers `tool_call_id`. */
  readonly tool_calls?: ChatCompletionMessageToolCall[];
  readonly tool_call_id?: string;
  readonly created: string;
  /** `partial`: an answer cut short; `partialReason` says why. */
  readonly status: 'complete' | 'partial';
  readonly partialReason?: PartialReason;
  readonly finishReason?: string;
}

export interface ConversationPage extends ConversationJson {
  readonly messages: MessageJson[];
  readonly continuationToken?: string;
}

function summaryJson(c: ConversationSummary): ConversationJson {
  const iso = (ms: number) => new Date(ms).toISOString();
  return { id: c.id, title: c.title, created: iso(c.created), updated: iso(c.updated), messageCount: c.messageCount };
}

function messageJson(m: StoredMessage): MessageJson {
  const { content, tool_calls, tool_call_id } = JSON.parse(m.body) as Pick<
    MessageJson,
    'content' | 'tool_calls' | 'tool_call_id'
  >;
  return {
    turn: m.turn,
    role: m.role,
    content,
    ...(tool_calls ? { tool_calls } : {}),
    ...(tool_call_id === undefined ? {} : { tool_call_id }),
    created: new Date(m.created).toISOString(),
    status: m.status,
    ...(m.partialReason ? { partialReason: m.partialReason } : {}),
    ...(m.finishReason ? { finishReason: m.finishReason } : {}),
  };
}

function badToken(): ChatError {
  const message = 'is not a continuation token of this list';
  return new ChatError('invalid_request', {
    message: `The request is invalid: continuationToken ${message}.`,
    fields: [{ path: 'continuationToken', message }],
  });
}

function listPosition(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (!isIndexKey(key)) throw badToken();
  return key;
}

function turnPosition(token: string): number {
  if (!/^\d{1,6}$/.test(token)) throw badToken();
  return Number(token);
}
