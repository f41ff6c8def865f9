/**
 * The pure decisions of the conversation store: ids, row keys, titles, how a long message is split
 * across entities. See table.ts for the layout these keys make.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A conversation id: 22 base64url characters (128 random bits, or a hash; see {@link conversationIdFor}). */
export const CONVERSATION_ID = /^[A-Za-z0-9_-]{22}$/;

/** Characters of a message per entity: a string property holds at most 64 KiB of UTF-16 (32 Ki characters). */
export const PART_CHARS = 30_000;

/** Largest epoch ms an index key can hold (13 digits, the year 2286). */
const MAX_MS = 9_999_999_999_999;

/** A new random conversation id. */
export function newConversationId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/**
 * The id of the conversation a request without one starts. With an `Idempotency-Key` it is derived from
 * the caller's partition and the key, so a retry of the same request lands in the same conversation
 * instead of starting a second one; without a key it is random.
 */
export function conversationIdFor(partition: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return newConversationId();
  return createHash('sha256').update(`${partition}\u0000${idempotencyKey}`).digest('base64url').slice(0, 22);
}

/** The header row of a conversation; its messages and idempotency keys sort right after it. */
export function headerKey(id: string): string {
  return `v:${id}`;
}

/** Row key bounds of everything of one conversation (header, keys, messages): `ge` from, `lt` to. */
export function conversationRange(id: string): { readonly from: string; readonly to: string } {
  return { from: `v:${id}`, to: `v:${id};` };
}

/**
 * The listing row of a conversation: newest first because Table Storage returns rows in RowKey order,
 * and the key holds the time of the last change counted down from {@link MAX_MS}.
 */
export function indexKey(id: string, updatedMs: number): string {
  return `i:${String(MAX_MS - updatedMs).padStart(13, '0')}:${id}`;
}

/** Row key bounds of the listing rows: `gt` a continuation (or from), `lt` to. */
export const INDEX_RANGE = { from: 'i:', to: 'i;' } as const;

/** The index key from which rows are older than `cutoffMs` (they sort after it). */
export function expiredIndexFrom(cutoffMs: number): string {
  return `i:${String(MAX_MS - cutoffMs).padStart(13, '0')}`;
}

/** Whether `value` is a listing row key (what a list continuation token holds). */
export function isIndexKey(value: string): boolean {
  return /^i:\d{13}:[A-Za-z0-9_-]{22}$/.test(value);
}

/**
 * The row that finds a conversation by the history a client resends (`h:<fingerprint>`, see resent.ts). It
 * names the conversation and the turn whose answer ends that history.
 */
export function resentKey(fingerprint: string): string {
  return `h:${fingerprint}`;
}

/** Row key bounds of the rows of {@link resentKey}. */
export const RESENT_RANGE = { from: 'h:', to: 'h;' } as const;

/** The row of an idempotency key: a hash, so any header value makes a valid key of fixed length. */
export function idempotencyRowKey(id: string, idempotencyKey: string): string {
  return `v:${id}:k:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

/** Row key prefix of a turn's rows (its request messages `q00`..., then its answer `r`). */
export function turnPrefix(id: string, turn: number): string {
  return `v:${id}:t:${String(turn).padStart(6, '0')}:`;
}

/** Row key of part `part` of a message: slot `q<nn>` for the turn's n-th request message, `r` for the answer. */
export function messageKey(id: string, turn: number, slot: string, part: number): string {
  return `${turnPrefix(id, turn)}${slot}:${String(part).padStart(2, '0')}`;
}

/** The slot of a turn's n-th request message. */
export function requestSlot(index: number): string {
  return `q${String(index).padStart(2, '0')}`;
}

export const ANSWER_SLOT = 'r';

/** Turn number, slot and part of a message row key; undefined for any other row. */
export function parseMessageKey(rowKey: string): { turn: number; slot: string; part: number } | undefined {
  const match = /^v:[A-Za-z0-9_-]{22}:t:(\d{6}):(q\d{2}|r):(\d{2})$/.exec(rowKey);
  if (!match) return undefined;
  return { turn: Number(match[1]), slot: match[2] ?? '', part: Number(match[3]) };
}

/** `text` in pieces of at most `size` characters (at least one piece, never splitting a surrogate pair). */
export function splitText(text: string, size: number = PART_CHARS): string[] {
  const parts: string[] = [];
  let start = 0;
  do {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  } while (start < text.length);
  return parts;
}

/** Words of the question a new conversation is titled with, and the longest title, characters. */
const TITLE_WORDS = 8;
export const MAX_TITLE_CHARS = 80;

/** A one-line title from the first words of `text`; `New conversation` when it has none. */
export function titleFrom(text: string): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  if (words.length === 0) return 'New conversation';
  const title = words.slice(0, TITLE_WORDS).join(' ');
  const cut = words.length > TITLE_WORDS || title.length > MAX_TITLE_CHARS;
  return cut ? `${title.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…` : title;
}
