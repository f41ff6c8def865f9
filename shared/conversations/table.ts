/**
 * Conversations in Azure Table Storage (table `conversations`; Azurite locally), one partition per caller.
 *
 * | PartitionKey        | RowKey                              | what                                                  |
 * | ------------------- | ----------------------------------- | ----------------------------------------------------- |
 * | `user:<escaped id>` | `i:<13 digits>:<id>`                | listing row: id, title, created, updated, messageCount |
 * | `user:<escaped id>` | `v:<id>`                            | header: the same, plus `turns` and its `indexKey`       |
 * | `user:<escaped id>` | `v:<id>:k:<sha-256 of the key>`     | an `Idempotency-Key` seen, and its `turn`               |
 * | `user:<escaped id>` | `v:<id>:t:<turn>:q<nn>:<part>`      | the turn's n-th request message (usually the question) |
 * | `user:<escaped id>` | `v:<id>:t:<turn>:r:<part>`          | the turn's answer                                       |
 * | `user:<escaped id>` | `h:<fingerprint of a history>`      | id and turn of the answer that ends that history        |
 *
 * The partition is the caller's, as for quotas (`user:`, `app:`, or `service` for function keys), so a
 * user's traffic touches one partition and one user can never read another's rows. The listing row's
 * key counts the last change down from 9999999999999 ms, so rows come newest first. A message is split
 * into entities of 30 000 characters (`part` 00, 01...; a string property holds at most 64 KiB), so no
 * entity nears 1 MiB; its first part says how many there are.
 *
 * Every write is one entity group transaction (one partition, at most 100 entities): the header with
 * its ETag, the message rows, the idempotency row and the move of the listing row succeed or fail
 * together. Two writers of one conversation: the second gets 412, reads the header again and writes
 * the next turn, so both turns are kept, in order. Each call has a timeout and the SDK's retries are off
 * (quotaTableClient): a slow store degrades a chat (no history), it never holds it.
 */
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { odataString, statusOf } from '../quota/table-counters';
import {
  conversationRange,
  expiredIndexFrom,
  headerKey,
  idempotencyRowKey,
  indexKey,
  INDEX_RANGE,
  messageKey,
  parseMessageKey,
  requestSlot,
  resentKey,
  RESENT_RANGE,
  splitText,
  turnPrefix,
} from './keys';

/** A conversation's header row. Times are epoch ms. */
export interface Header {
  readonly id: string;
  readonly title: string;
  readonly created: number;
  readonly updated: number;
  readonly messageCount: number;
  /** Turns stored so far: the next turn's number. */
  readonly turns: number;
  readonly indexKey: string;
  readonly etag: string;
}

/** A message as stored: the OpenAI message as JSON (`body`), its token count, and how it ended. */
export interface MessageRecord {
  readonly role: string;
  readonly body: string;
  readonly tokens: number;
  /** Epoch ms. */
  readonly created: number;
  readonly status: 'complete' | 'partial';
  /** Why a partial answer stopped. */
  readonly partialReason?: PartialReason;
  readonly finishReason?: string;
}

/** `interrupted`: the stream broke and no region could continue it; `client-disconnected`: the client left mid-answer; `too-large`: cut at the size limit. */
export type PartialReason = 'interrupted' | 'client-disconnected' | 'too-large';

export interface StoredMessage extends MessageRecord {
  readonly turn: number;
  /** `q00`... for the turn's request messages, `r` for its answer. */
  readonly slot: string;
}

/** A whole conversation as one query returns it. */
export interface LoadedConversation {
  readonly header: Header;
  /** Row keys of the idempotency rows, and their turns. */
  readonly keys: ReadonlyMap<string, number>;
  readonly messages: readonly StoredMessage[];
}

/** A listing row. Times are epoch ms. */
export type ConversationSummary = Omit<Header, 'turns' | 'indexKey' | 'etag'>;

export interface ConversationTableOptions {
  /** The table's client, or its promise (quotaTableClient loads the SDK on first use). */
  readonly client: TableClient | Promise<TableClient>;
  /** Time allowed for each store call, ms (default 1 500). */
  readonly timeoutMs?: number;
}

type Row = TableEntityResult<Record<string, unknown>> & { readonly rowKey: string };

/** Writes lost to another writer (412 or 409) after this many tries give up. */
const MAX_WRITE_ATTEMPTS = 8;

export class ConversationTable {
  readonly #client: Promise<TableClient>;
  readonly #timeoutMs: number;

  constructor(options: ConversationTableOptions) {
    this.#client = Promise.resolve(options.client);
    // A client that could not be built fails each call instead (which degrades), never the process.
    this.#client.catch(() => undefined);
    this.#timeoutMs = options.timeoutMs ?? 1_500;
  }

  /** The header, idempotency rows and messages of a conversation, in one query; undefined when it does not exist. */
  async load(partition: string, id: string): Promise<LoadedConversation | undefined> {
    const rows = await this.#rows(partition, conversationRange(id));
    const header = rows[0]?.rowKey === headerKey(id) ? toHeader(rows[0]) : undefined;
    if (!header) return undefined;
    const keys = new Map<string, number>();
    for (const row of rows) if (row.rowKey.startsWith(`${headerKey(id)}:k:`)) keys.set(row.rowKey, Number(row.turn));
    return { header, keys, messages: toMessages(rows) };
  }

  /** The header and the messages of turns `from` to `from + count - 1`; undefined when there is no such conversation. */
  async page(
    partition: string,
    id: string,
    turns: { readonly from: number; readonly count: number },
  ): Promise<{ header: Header; messages: StoredMessage[] } | undefined> {
    const range = { from: turnPrefix(id, turns.from), to: turnPrefix(id, turns.from + turns.count) };
    const [header, rows] = await Promise.all([this.header(partition, id), this.#rows(partition, range)]);
    return header && { header, messages: toMessages(rows) };
  }

  async header(partition: string, id: string): Promise<Header | undefined> {
    try {
      const client = await this.#client;
      const row = await again(() => client.getEntity(partition, headerKey(id), this.#call()));
      return toHeader({ ...row, rowKey: headerKey(id) });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** The conversation and turn whose answer ends the history with this fingerprint, if one was stored. */
  async findResent(partition: string, fingerprint: string): Promise<{ id: string; turn: number } | undefined> {
    try {
      const client = await this.#client;
      const row = await again(() => client.getEntity(partition, resentKey(fingerprint), this.#call()));
      return { id: text(row.id), turn: Number(row.turn) };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Takes a failed turn's question out again: its rows and its idempotency row go, the header's message
   * count goes down (its ETag checked, read again while another writer wins). A turn that has an answer
   * (a retry of it answered meanwhile) is kept; a conversation left without messages is deleted.
   */
  async dropTurn(partition: string, at: { readonly id: string; readonly turn: number }): Promise<void> {
    const { id, turn } = at;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const rows = await this.#rows(partition, conversationRange(id), ['RowKey', 'turn']);
      const header = rows[0]?.rowKey === headerKey(id) ? await this.header(partition, id) : undefined;
      const mine = rows.filter((r) => r.rowKey.startsWith(turnPrefix(id, turn))).map((r) => r.rowKey);
      if (!header || mine.length === 0 || mine.some((k) => parseMessageKey(k)?.slot === 'r')) return;
      const others = rows.filter((r) => parseMessageKey(r.rowKey) !== undefined && !mine.includes(r.rowKey));
      if (others.length === 0) {
        await this.remove(partition, id);
        return;
      }
      const keys = rows.filter((r) => r.rowKey.startsWith(`${headerKey(id)}:k:`) && Number(r.turn) === turn);
      const questions = mine.filter((k) => parseMessageKey(k)?.part === 0).length;
      const after = { ...header, messageCount: Math.max(0, header.messageCount - questions) };
      const actions: TransactionAction[] = [
        headerAction(partition, after, header),
        ...indexActions(partition, after, header),
        ...[...mine, ...keys.map((r) => r.rowKey)].map((rowKey): TransactionAction => [
          'delete',
          { partitionKey: partition, rowKey },
        ]),
      ];
      if ((await this.#transact(partition, after, actions)) !== 'conflict') return;
    }
    throw new Error('Taking out a failed turn lost every write to other writers');
  }

  /**
   * Writes a new turn after `loaded` (a new conversation when undefined): its request messages, its
   * idempotency row, the header with the ETag read. Returns the header as written (with its new ETag),
   * or `conflict` when another writer got there first (read again and retry).
   */
  async appendTurn(
    partition: string,
    turn: { readonly id: string; readonly title: string; readonly loaded?: LoadedConversation; readonly now: number },
    messages: readonly MessageRecord[],
    idempotencyKey?: string,
  ): Promise<Header | 'conflict'> {
    const { id, loaded, now } = turn;
    const before = loaded?.header;
    const number = before?.turns ?? 0;
    const header = nextHeader(before, {
      id,
      title: before?.title ?? turn.title,
      now,
      added: messages.length,
      newTurn: true,
    });
    const actions: TransactionAction[] = [
      headerAction(partition, header, before),
      ...messages.flatMap((m, i) => messageActions(partition, id, number, requestSlot(i), m)),
      ...(idempotencyKey === undefined
        ? []
        : [['create', { partitionKey: partition, rowKey: idempotencyRowKey(id, idempotencyKey), turn: number }]]),
      ...indexActions(partition, header, before),
    ] as TransactionAction[];
    return this.#transact(partition, header, actions);
  }

  /**
   * Stores the answer of turn `turn` (replacing one stored before, for a retried request): a new
   * header (message count, last change) with its ETag, read again while another writer wins. With a
   * `fingerprint` (of everything the request sent, then this answer), the row that finds the conversation
   * by that history is written in the same transaction; the last conversation to end with it wins.
   */
  async storeAnswer(
    partition: string,
    at: {
      readonly header: Header;
      readonly turn: number;
      readonly replacing: boolean;
      readonly now: number;
      readonly fingerprint?: string;
    },
    answer: MessageRecord,
  ): Promise<Header> {
    let before: Header | undefined = at.header;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS && before; attempt++) {
      const header = nextHeader(before, { ...before, now: at.now, added: at.replacing ? 0 : 1 });
      const actions = [
        headerAction(partition, header, before),
        ...messageActions(partition, header.id, at.turn, 'r', answer, 'upsert'),
        ...indexActions(partition, header, before),
        ...(at.fingerprint === undefined ? [] : [resentAction(partition, at.fingerprint, header.id, at.turn)]),
      ];
      const written = await this.#transact(partition, header, actions);
      if (written !== 'conflict') return written;
      before = await this.header(partition, header.id);
    }
    throw new Error(before ? 'The answer lost every write to other writers' : 'The conversation was deleted meanwhile');
  }

  /** Renames a conversation (header and listing row together); false when it does not exist. */
  async rename(partition: string, id: string, title: string, now: number): Promise<Header | undefined> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const before = await this.header(partition, id);
      if (!before) return undefined;
      const header = nextHeader(before, { ...before, title, now, added: 0 });
      const actions = [headerAction(partition, header, before), ...indexActions(partition, header, before)];
      const written = await this.#transact(partition, header, actions);
      if (written !== 'conflict') return written;
    }
    throw new Error('The rename lost every write to other writers');
  }

  /** Listing rows, newest first, after the row key `after`; `next` is the last row key when more may follow. */
  async list(
    partition: string,
    page: { readonly size: number; readonly after?: string },
  ): Promise<{ items: ConversationSummary[]; next?: string }> {
    const from = page.after ?? INDEX_RANGE.from;
    const filter = `PartitionKey eq ${odataString(partition)} and RowKey gt ${odataString(from)} and RowKey lt '${INDEX_RANGE.to}'`;
    const client = await this.#client;
    const rows: Row[] = [];
    const pages = client.listEntities({ queryOptions: { filter }, ...this.#call() }).byPage({ maxPageSize: page.size });
    try {
      for await (const entities of pages) {
        rows.push(...entities.slice(0, page.size - rows.length).map((r) => ({ ...r, rowKey: r.rowKey ?? '' })));
        if (rows.length >= page.size) break;
      }
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const next = rows.length >= page.size ? rows.at(-1)?.rowKey : undefined;
    return { items: rows.map(toSummary), ...(next ? { next } : {}) };
  }

  /** Deletes a conversation: its messages and keys first, its header and listing row last (a retry finishes a cut one). */
  async remove(partition: string, id: string): Promise<boolean> {
    const rows = await this.#rows(partition, conversationRange(id), ['RowKey']);
    const header = rows.find((r) => r.rowKey === headerKey(id));
    if (!header) return false;
    const full = await this.header(partition, id);
    const children = rows.filter((r) => r !== header).map((r) => r.rowKey);
    const resent = await this.#rows(partition, RESENT_RANGE, ['RowKey'], `id eq ${odataString(id)}`);
    await this.#deleteRows(partition, [...resent.map((r) => r.rowKey), ...children]);
    await this.#deleteRows(partition, [...(full ? [full.indexKey] : []), headerKey(id)]);
    return true;
  }

  /** Deletes every row of a partition (all of a caller's conversations); the number of conversations deleted. */
  async removeAll(partition: string): Promise<number> {
    const rows = await this.#rows(partition, { from: '', to: '\uffff' }, ['RowKey']);
    const keys = rows.map((r) => r.rowKey);
    // Listing rows and headers last, as in remove(), so a cut deletion leaves whole conversations behind.
    const last = keys.filter((k) => k.startsWith('i:') || /^v:[^:]+$/.test(k));
    await this.#deleteRows(
      partition,
      keys.filter((k) => !last.includes(k)),
    );
    await this.#deleteRows(partition, last);
    return keys.filter((k) => k.startsWith('i:')).length;
  }

  /** The (partition, id) of every conversation of any caller unchanged since `cutoff` (epoch ms): a scan for the retention job. */
  async *expired(cutoff: number): AsyncGenerator<{ partition: string; id: string }> {
    const filter = `RowKey ge ${odataString(expiredIndexFrom(cutoff))} and RowKey lt '${INDEX_RANGE.to}'`;
    const client = await this.#client;
    try {
      for await (const row of client.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'id'] } }))
        yield { partition: row.partitionKey ?? '', id: text(row.id) };
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Submits one transaction; 412/409 (another writer won) is `conflict`; a missing table is created once. */
  async #transact(partition: string, header: Omit<Header, 'etag'>, actions: TransactionAction[]) {
    const client = await this.#client;
    for (let created = false; ; created = true) {
      try {
        const result = await client.submitTransaction(actions, this.#call());
        // Sub-responses come in the order of the actions, and the header's action is always the first (an
        // update's 204 names no RowKey to find it by).
        const etag = result.subResponses[0]?.etag?.trim();
        return { ...header, etag: etag ?? (await this.header(partition, header.id))?.etag ?? '' };
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 || status === 412) return 'conflict' as const;
        if (status !== 404 || created) throw error;
        // No table yet (Azurite's first run; in Azure the Bicep template made it): make it, try once more.
        await client.createTable(this.#call());
      }
    }
  }

  /** Rows of a partition in a RowKey range (`ge` from, `lt` to), in key order; none when there is no table. */
  async #rows(
    partition: string,
    range: { from: string; to: string },
    select?: string[],
    where?: string,
  ): Promise<Row[]> {
    const filter = `PartitionKey eq ${odataString(partition)} and RowKey ge ${odataString(range.from)} and RowKey lt ${odataString(range.to)}${where ? ` and ${where}` : ''}`;
    const client = await this.#client;
    return again(async () => {
      const rows: Row[] = [];
      try {
        const query = client.listEntities({ queryOptions: { filter, ...(select ? { select } : {}) }, ...this.#call() });
        for await (const row of query) rows.push({ ...row, rowKey: row.rowKey ?? '' });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      return rows;
    });
  }

  async #deleteRows(partition: string, rowKeys: readonly string[]): Promise<void> {
    const client = await this.#client;
    for (let i = 0; i < rowKeys.length; i += 100) {
      const batch = rowKeys.slice(i, i + 100).map((rowKey) => ['delete', { partitionKey: partition, rowKey }]);
      await client.submitTransaction(batch as TransactionAction[], this.#call());
    }
  }

  #call(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#timeoutMs) };
  }
}

/**
 * A read, made again (at most twice more) when the connection was reset before any answer: a kept-alive
 * socket the store had just closed (Azurite closes idle ones after 5 s, Azure's front ends after longer),
 * and the pool may hold more than one such socket (a page read opens two at once). The SDK's own retries
 * are off (one layer decides); a read is safe to repeat, and a chat should not lose its history to a stale
 * socket. Writes are not repeated: their ETags and the callers' loops decide.
 */
async function again<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= READ_ATTEMPTS || !connectionReset(error)) throw error;
    }
  }
}

/** Tries of a read whose connection is reset under it. */
const READ_ATTEMPTS = 3;

/** A request that got no answer because the connection was reset or closed under it. */
export function connectionReset(error: unknown): boolean {
  const { name, code, statusCode } = (error ?? {}) as { name?: unknown; code?: unknown; statusCode?: unknown };
  return name === 'RestError' && statusCode === undefined && (code === 'ECONNRESET' || code === 'EPIPE');
}

function nextHeader(
  before: Header | undefined,
  change: {
    readonly id: string;
    readonly title: string;
    readonly now: number;
    /** Messages added. */
    readonly added: number;
    readonly newTurn?: boolean;
  },
): Omit<Header, 'etag'> {
  // The listing orders by the last change: never backwards, even when clocks of two instances disagree.
  const updated = Math.max(change.now, (before?.updated ?? 0) + 1);
  return {
    id: change.id,
    title: change.title,
    created: before?.created ?? change.now,
    updated,
    messageCount: (before?.messageCount ?? 0) + change.added,
    turns: (before?.turns ?? 0) + (change.newTurn === true ? 1 : 0),
    indexKey: indexKey(change.id, updated),
  };
}

function headerAction(partition: string, header: Omit<Header, 'etag'>, before: Header | undefined): TransactionAction {
  const { id: _id, etag: _etag, ...fields } = { ...header, etag: '' };
  const entity = { partitionKey: partition, rowKey: headerKey(header.id), ...fields };
  return before ? ['update', entity, 'Replace', { etag: before.etag }] : ['create', entity];
}

/** The listing row moves to its new key (the key holds the time of the last change). */
function indexActions(
  partition: string,
  header: Omit<Header, 'etag'>,
  before: Header | undefined,
): TransactionAction[] {
  const { id, title, created, updated, messageCount } = header;
  const row = { partitionKey: partition, rowKey: header.indexKey, id, title, created, updated, messageCount };
  if (before?.indexKey === header.indexKey) return [['upsert', row, 'Replace']];
  return [
    ...(before ? [['delete', { partitionKey: partition, rowKey: before.indexKey }] as TransactionAction] : []),
    ['create', row],
  ];
}

/** The row that finds conversation `id` by the history ending with turn `turn`'s answer (the last writer wins). */
function resentAction(partition: string, fingerprint: string, id: string, turn: number): TransactionAction {
  return ['upsert', { partitionKey: partition, rowKey: resentKey(fingerprint), id, turn }, 'Replace'];
}

function messageActions(
  partition: string,
  id: string,
  turn: number,
  slot: string,
  message: MessageRecord,
  kind: 'create' | 'upsert' = 'create',
): TransactionAction[] {
  const parts = splitText(message.body);
  return parts.map((body, part) => {
    const { body: _body, ...meta } = message;
    const rowKey = messageKey(id, turn, slot, part);
    const entity = { partitionKey: partition, rowKey, body, ...(part === 0 ? { ...meta, parts: parts.length } : {}) };
    return kind === 'create' ? ['create', entity] : ['upsert', entity, 'Replace'];
  });
}

function toHeader(row: Row): Header {
  return {
    id: row.rowKey?.slice(2) ?? '',
    title: text(row.title),
    created: Number(row.created),
    updated: Number(row.updated),
    messageCount: Number(row.messageCount ?? 0),
    turns: Number(row.turns ?? 0),
    indexKey: text(row.indexKey),
    etag: row.etag,
  };
}

function toSummary(row: Row): ConversationSummary {
  const { id, title, created, updated, messageCount } = row;
  return {
    id: text(id),
    title: text(title),
    created: Number(created),
    updated: Number(updated),
    messageCount: Number(messageCount),
  };
}

/** Message rows put back together: parts joined, in turn and slot order; parts beyond the first's count are stale. */
function toMessages(rows: readonly Row[]): StoredMessage[] {
  const messages: StoredMessage[] = [];
  let current: { message: StoredMessage; parts: number; seen: number } | undefined;
  for (const row of rows) {
    const key = parseMessageKey(row.rowKey ?? '');
    if (!key) continue;
    if (key.part === 0) {
      current = { message: toMessage(row, key), parts: Number(row.parts ?? 1), seen: 1 };
      messages.push(current.message);
    } else if (current && current.message.turn === key.turn && current.message.slot === key.slot) {
      if (current.seen++ >= current.parts) continue;
      const joined = { ...current.message, body: current.message.body + text(row.body) };
      messages[messages.length - 1] = joined;
      current.message = joined;
    }
  }
  return messages;
}

function toMessage(row: Row, key: { turn: number; slot: string }): StoredMessage {
  return {
    turn: key.turn,
    slot: key.slot,
    role: text(row.role),
    body: text(row.body),
    tokens: Number(row.tokens ?? 0),
    created: Number(row.created),
    status: row.status === 'partial' ? 'partial' : 'complete',
    ...(typeof row.partialReason === 'string' ? { partialReason: row.partialReason as PartialReason } : {}),
    ...(typeof row.finishReason === 'string' ? { finishReason: row.finishReason } : {}),
  };
}

/** A string property as read; anything else (missing) as empty. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
