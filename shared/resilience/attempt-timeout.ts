/**
 * Policy: the time limits of one upstream attempt. No first byte within `firstByteMs` (the
 * per-attempt timeout), or the request deadline passing, aborts the attempt and turns whatever it
 * threw into `upstream_timeout`. The client's own signal aborts it too, but that is not a timeout.
 * After the first byte the signal stays live, so the deadline and the client can still stop a stream.
 */
import { ChatError } from '../errors';

export interface AttemptLimits {
  /** Time allowed to the first byte, ms. */
  readonly firstByteMs: number;
  /** Time left until the request deadline, ms (a stream is cut there too). */
  readonly deadlineMs: number;
  /** The client's signal (a disconnect). */
  readonly signal?: AbortSignal;
  /** Region name, for the diagnosis. */
  readonly region: string;
}

/** An attempt that got its first byte in time. */
export interface TimedAnswer<T> {
  readonly value: T;
  /** Aborts on the deadline or a client disconnect, for as long as the answer is read. */
  readonly signal: AbortSignal;
  /** Clears the deadline timer and the client listener: call when the answer has been read. */
  readonly release: () => void;
  /** Aborts the call while its answer is read (a stream that stalled); not a timeout. */
  readonly abort: (reason: Error) => void;
}

/** Runs `attempt` under the limits; rejects with `upstream_timeout` when a limit cut it off. */
export async function withAttemptTimeout<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  limits: AttemptLimits,
): Promise<TimedAnswer<T>> {
  const timer = new AttemptTimer(limits);
  try {
    const value = await attempt(timer.signal);
    timer.firstByte();
    return { value, signal: timer.signal, release: () => timer.release(), abort: (reason) => timer.abort(reason) };
  } catch (error) {
    timer.release();
    if (!timer.timedOut) throw error;
    throw new ChatError('upstream_timeout', {
      message: 'The model did not answer in time.',
      diagnosis: `Region ${limits.region} sent no first byte within ${limits.firstByteMs} ms.`,
      cause: error,
    });
  }
}

/** The attempt's abort controller and its two timers. */
class AttemptTimer {
  readonly #controller = new AbortController();
  readonly #firstByte: ReturnType<typeof setTimeout>;
  readonly #deadline: ReturnType<typeof setTimeout>;
  readonly #client: AbortSignal | undefined;
  readonly #onClient = () => this.#controller.abort(new Error('client'));
  #timedOut = false;

  constructor(limits: AttemptLimits) {
    this.#firstByte = setTimeout(() => this.#timeOut('first-byte timeout'), limits.firstByteMs);
    this.#deadline = setTimeout(() => this.#timeOut('deadline'), Math.max(0, limits.deadlineMs));
    this.#client = limits.signal;
    this.#client?.addEventListener('abort', this.#onClient, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  firstByte(): void {
    clearTimeout(this.#firstByte);
  }

  abort(reason: Error): void {
    this.#controller.abort(reason);
  }

  release(): void {
    clearTimeout(this.#firstByte);
    clearTimeout(this.#deadline);
    this.#client?.removeEventListener('abort', this.#onClient);
  }

  #timeOut(reason: string): void {
    this.#timedOut = true;
    this.#controller.abort(new Error(reason));
  }
}
