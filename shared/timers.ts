/**
 * The clock that waits run on (heartbeats, the stream idle limit), injectable so tests step time by
 * hand, and the one helper both use: a promise raced against a timer.
 */

/** setTimeout / clearTimeout, as an object a test can replace. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The value if `pending` settles within `ms`, undefined if not; a rejection within `ms` is rethrown. */
export function settledWithin<T>(pending: Promise<T>, ms: number, timers: Timers): Promise<{ value: T } | undefined> {
  return new Promise((resolve, reject) => {
    const handle = timers.setTimeout(() => resolve(undefined), ms);
    pending.then(
      (value) => {
        timers.clearTimeout(handle);
        resolve({ value });
      },
      (error: unknown) => {
        timers.clearTimeout(handle);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
