/**
 * The pure decisions of the quota module: which fixed window an instant falls in, when it ends (the
 * `Retry-After` a refused client gets), and how a caller becomes a Table Storage PartitionKey.
 * Windows are UTC, so every instance in every region agrees on them without talking to each other.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

import type { Caller } from '../auth/caller';

export type { Caller } from '../auth/caller';

/** The UTC minute `now` falls in, as `YYYY-MM-DDTHH:MM` (stored with the counter, so a new minute resets it). */
export function minuteWindow(now: number): string {
  return new Date(now).toISOString().slice(0, 16);
}

/** The UTC day `now` falls in, as `YYYY-MM-DD`. */
export function dayWindow(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Milliseconds from `now` to the start of the next UTC minute (1..60 000): when a per-minute count resets. */
export function msToNextMinute(now: number): number {
  return (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS - now;
}

/** Milliseconds from `now` to the next UTC midnight (1..86 400 000): when a per-day count resets. */
export function msToNextUtcMidnight(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS - now;
}

/** Table keys may not hold `/ \ # ?` or control characters; `%` is escaped too so the encoding is reversible. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: keys forbid them.
const FORBIDDEN_IN_KEY = /[/\\#?%\u0000-\u001f\u007f-\u009f]/g;

/** Percent-encodes the characters a Table Storage key may not hold; everything else stays readable. */
export function escapeKey(value: string): string {
  return value.replace(FORBIDDEN_IN_KEY, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Longest caller id accepted: a PartitionKey is at most 1 KiB, and `${tid}:${oid}` is 73 characters. */
export const MAX_CALLER_ID_LENGTH = 256;

/**
 * The PartitionKey of a caller's counters: `user:<escaped id>` or `app:<escaped id>` (one partition per
 * signed-in principal, so no partition is hot for everyone), or `service`.
 */
export function partitionKey(caller: Caller): string {
  if (caller.kind === 'service') return 'service';
  if (caller.id.length === 0 || caller.id.length > MAX_CALLER_ID_LENGTH) {
    throw new RangeError(`A user id must have 1 to ${MAX_CALLER_ID_LENGTH} characters, got ${caller.id.length}.`);
  }
  return `${caller.kind}:${escapeKey(caller.id)}`;
}

/** The PartitionKey of one shard of the global budget. */
export function shardPartitionKey(shard: number): string {
  return `global:${shard}`;
}

/** The budget of each of `shards` shards so that they add up to `total` (the first ones take the remainder). */
export function shardBudget(total: number, shards: number, shard: number): number {
  const base = Math.floor(total / shards);
  return base + (shard < total % shards ? 1 : 0);
}
