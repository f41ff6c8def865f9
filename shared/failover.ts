/**
 * The failover loop: one small data-driven pass over the ordered regions that records every
 * attempt. It composes the resilience policies, each readable on its own in ./resilience:
 * breaker admission ({@link RegionHealth.admit}) decides whether a region is tried, the attempt
 * timeout bounds each try, {@link recordFailedAttempt} says what a failure does to the region and
 * whether the next region may do better, and {@link throttleWait} decides whether a short wait for a
 * throttled region beats giving up. Nothing sleeps out a long 429 inside an HTTP request.
 */
import { ChatError, type Attempt } from './errors';
import type { RegionHealth } from './region-health';
import { withAttemptTimeout } from './resilience/attempt-timeout';
import { DEFAULT_RETRY_AFTER_MS, recordFailedAttempt } from './resilience/breaker';
import { sleep, skipWaits, throttleWait } from './resilience/throttle-wait';

/** One attempt that ended, as the loop hands it out: the record, and the answer or the error. */
export type AttemptEvent<T> =
  | { readonly kind: 'answered'; readonly attempt: Attempt; readonly attemptNumber: number; readonly value: T }
  | { readonly kind: 'failed'; readonly attempt: Attempt; readonly attemptNumber: number; readonly error: ChatError };

export interface FailoverOptions<T> {
  readonly regions: readonly string[];
  readonly health: RegionHealth;
  /**
   * One attempt on one region. Resolve when the first byte is in hand (for a stream: the first
   * chunk worth forwarding); reject with a ChatError (anything else is a bug: `internal_error`).
   * The signal aborts on the first-byte timeout, the request deadline and a client disconnect.
   */
  readonly attempt: (region: string, signal: AbortSignal) => Promise<T>;
  /** Time limit to first byte of one attempt, ms. */
  readonly attemptTimeoutMs: number;
  /** Absolute time (health clock) by which the request must be answered. */
  readonly deadline: number;
  /** Longest wait for a throttled region when no region can serve now, ms. */
  readonly maxThrottleWaitMs: number;
  readonly requestId: string;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
  /** Told of every attempt that was made (not of skipped regions), as it ends. */
  readonly onAttempt?: (event: AttemptEvent<T>) => void;
  /** Waits `ms`; injectable so tests never sleep. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface FailoverResult<T> {
  readonly value: T;
  readonly region: string;
  readonly attempts: readonly Attempt[];
  /**
   * Aborts the upstream call of the winning attempt (stays live after the first byte so a
   * client disconnect or the deadline can still stop a stream).
   */
  readonly signal: AbortSignal;
  /** Call when the winning attempt is finished, to release its timers. */
  readonly done: () => void;
  /** Aborts the winning call while its answer is read (a stalled stream). */
  readonly abort: (reason: Error) => void;
}

/** Serves from the first region that can; throws the ChatError that best explains why none could. */
export function runWithFailover<T>(options: FailoverOptions<T>): Promise<FailoverResult<T>> {
  return new FailoverRun(options).run();
}

/** One request's pass over the regions: its attempts and errors so far. */
class FailoverRun<T> {
  readonly #options: FailoverOptions<T>;
  readonly #attempts: Attempt[] = [];
  readonly #errors: ChatError[] = [];

  constructor(options: FailoverOptions<T>) {
    this.#options = options;
  }

  async run(): Promise<FailoverResult<T>> {
    const keptOut: string[] = [];
    const served = (await this.#pass(keptOut)) ?? (await this.#tryEach(keptOut));
    if (served) return served;
    // Nobody could serve. Wait for a throttled region only if the wait is short and fits the budget.
    const wait = throttleWait(this.#options.health, this.#options.regions, {
      maxWaitMs: this.#options.maxThrottleWaitMs,
      deadline: this.#options.deadline,
    });
    if (wait !== undefined) {
      await (this.#options.sleep ?? sleep)(wait, this.#options.signal).catch(() => {
        throw this.#clientClosed();
      });
      const afterWait = await this.#pass();
      if (afterWait) return afterWait;
    }
    throw allFailed(this.#options, this.#attempts, this.#errors);
  }

  /**
   * Tries, in order, each region the breaker and the throttle window let in (admission is asked
   * region by region: admitting a probe puts its breaker half-open). Given `keptOut` (the first
   * pass), records each skip and lists there the regions an open breaker kept out: when every
   * admitted region has failed, one of them may have recovered before its cool-down ends, and
   * trying it is better than losing the chat.
   */
  async #pass(keptOut?: string[]): Promise<FailoverResult<T> | undefined> {
    for (const region of this.#options.regions) {
      if (this.#options.signal?.aborted) throw this.#clientClosed();
      const admission = this.#options.health.admit(region);
      if (admission.kind === 'skip') {
        if (keptOut === undefined) continue;
        this.#attempts.push({ region, status: `skipped-${admission.reason}`, durationMs: 0 });
        if (admission.reason === 'open') keptOut.push(region);
        continue;
      }
      const result = await this.#try(region);
      if (result) return result;
    }
    return undefined;
  }

  async #tryEach(regions: readonly string[]): Promise<FailoverResult<T> | undefined> {
    for (const region of regions) {
      if (this.#options.signal?.aborted) throw this.#clientClosed();
      const result = await this.#try(region);
      if (result) return result;
    }
    return undefined;
  }

  /** One attempt on one region: the result, or undefined when it failed in a way another region may fix. */
  async #try(region: string): Promise<FailoverResult<T> | undefined> {
    const { health, deadline, signal } = this.#options;
    const started = health.now();
    const remaining = deadline - started;
    if (remaining <= 0) return undefined;
    const limits = {
      firstByteMs: Math.min(this.#options.attemptTimeoutMs, remaining),
      deadlineMs: remaining,
      region,
      ...(signal ? { signal } : {}),
    };
    try {
      const timed = await withAttemptTimeout((s) => this.#options.attempt(region, s), limits);
      health.recordSuccess(region);
      const attempt: Attempt = { region, status: 200, durationMs: health.now() - started };
      this.#record({ kind: 'answered', attempt, attemptNumber: this.#attempts.length + 1, value: timed.value });
      return { ...timed, region, attempts: this.#attempts, done: timed.release };
    } catch (thrown) {
      // The client left: its attempt says nothing about the region, and no other region is tried for nobody.
      if (signal?.aborted) {
        health.recordAbandoned(region);
        throw this.#clientClosed();
      }
      const error = asChatError(thrown);
      const status = error.upstreamStatus ?? (error.code === 'upstream_timeout' ? 'timeout' : 'connection-error');
      const attempt: Attempt = { region, status, durationMs: health.now() - started, code: error.code };
      this.#errors.push(error);
      this.#record({ kind: 'failed', attempt, attemptNumber: this.#attempts.length + 1, error });
      if (recordFailedAttempt(health, region, error) === 'stop')
        throw error.with({ requestId: this.#options.requestId, attempts: this.#attempts });
      return undefined;
    }
  }

  #record(event: AttemptEvent<T>): void {
    this.#attempts.push(event.attempt);
    this.#options.onAttempt?.(event);
  }

  #clientClosed(): ChatError {
    return new ChatError('client_closed', {
      message: 'The client closed the connection.',
      requestId: this.#options.requestId,
      attempts: this.#attempts,
    });
  }
}

/** What an attempt threw, as a ChatError: attempts classify their own failures, so anything else is a bug. */
function asChatError(thrown: unknown): ChatError {
  if (thrown instanceof ChatError) return thrown;
  return new ChatError('internal_error', {
    message: 'Something went wrong in the backend.',
    diagnosis: thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown),
    cause: thrown,
  });
}

/** Configuration problems that, the same in every region, are the answer rather than "unavailable". */
const CONFIGURATION_CODES: ReadonlySet<string> = new Set([
  'key_rejected',
  'token_rejected',
  'permission_denied',
  'local_auth_disabled',
  'endpoint_not_found',
]);

function allFailed(
  options: Pick<FailoverOptions<unknown>, 'requestId' | 'health' | 'regions' | 'deadline'>,
  attempts: Attempt[],
  errors: ChatError[],
): ChatError {
  const { requestId, health, regions } = options;
  const throttleWaits = skipWaits(health, regions, 'throttled');
  const summary = attempts
    .map((a) => `${a.region}: ${a.status}${a.code ? ` ${a.code}` : ''} (${a.durationMs} ms)`)
    .join('; ');

  // Every region is throttled: 429 with the smallest window, so the client knows when to come back.
  if (throttleWaits.length === regions.length) {
    return new ChatError('all_regions_throttled', {
      message: 'Every region is busy. Retry after the time in Retry-After.',
      diagnosis: `All regions throttled: ${summary}.`,
      requestId,
      attempts,
      retryAfterMs: Math.max(1_000, Math.min(...throttleWaits)),
    });
  }
  const first = errors[0];
  if (first && CONFIGURATION_CODES.has(first.code) && errors.every((e) => e.code === first.code)) {
    return first.with({ requestId, attempts, diagnosis: errors.map((e) => e.diagnosis).join(' | ') });
  }
  const retryWaits = [...throttleWaits, ...skipWaits(health, regions, 'open')];
  const diagnoses = errors.map((e) => e.diagnosis).filter(Boolean);
  return new ChatError('all_regions_failed', {
    message:
      health.now() >= options.deadline
        ? 'No region answered before the deadline. Try again shortly.'
        : 'The model service is unavailable in every region. Try again shortly.',
    diagnosis: `All regions failed: ${summary}.${errors.length > 0 ? ` Last: ${diagnoses.join(' | ')}` : ''}`,
    requestId,
    attempts,
    retryAfterMs: Math.max(1_000, retryWaits.length > 0 ? Math.min(...retryWaits) : DEFAULT_RETRY_AFTER_MS),
  });
}
