/**
 * Policy: a stream that goes silent counts as broken. Azure can keep a connection open and send
 * nothing more (a stalled front end); without a limit the chat would hang until the request deadline
 * (minutes) while the client sees only heartbeats. After `idleMs` without a chunk the read gives up
 * with {@link StreamStalled}, and `onStall` stops the upstream call (an async generator cannot be
 * returned while a read is pending, so the call is aborted through its signal instead).
 */
import { realTimers, settledWithin, type Timers } from '../timers';

/** What a read that waited longer than the idle limit rejects with. */
export class StreamStalled extends Error {
  override readonly name = 'StreamStalled';

  constructor(readonly idleMs: number) {
    super(`No chunk for ${idleMs} ms: the stream stalled`);
  }
}

export interface IdleLimit {
  /** Longest silence between two chunks, ms; 0 turns the limit off. */
  readonly idleMs: number;
  /** Called once when the limit is hit, before the read rejects: abort the upstream call here. */
  readonly onStall: () => void;
  /** Default: the real clock. */
  readonly timers?: Timers;
}

/** The iterator's next result, or a {@link StreamStalled} rejection when none comes within the limit. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, limit: IdleLimit): Promise<IteratorResult<T>> {
  const next = iterator.next();
  if (limit.idleMs <= 0) return next;
  const step = await settledWithin(next, limit.idleMs, limit.timers ?? realTimers);
  if (step !== undefined) return step.value;
  limit.onStall();
  throw new StreamStalled(limit.idleMs);
}
