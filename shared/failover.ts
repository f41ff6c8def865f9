/**
 * The failover loop: one small data-driven pass over the ordered regions that records every
 * attempt. Regions that are throttled or whose breaker is open are skipped; a failure worth
 * failing over for moves on at once (no sleeping inside an HTTP request); a failure that another
 * region cannot fix (bad request, content filter, missing deployment) stops the loop.
 */
import { ChatError, type Attempt } from './errors';
import type { RegionHealth } from './region-health';

/** What happened to a request as a whole: handed to the observer once per attempt and at the end. */
export interface FailoverObserver {
  onAttempt?(attempt: Attempt & { readonly error?: ChatError; readonly attemptNumber: number }): void;
}

export interface FailoverOptions<T> {
  readonly regions: readonly string[];
  readonly health: RegionHealth;
  /**
   * One attempt on one region. Resolve when the first byte is in hand (for a stream: the first
   * chunk worth forwarding); the signal aborts on the per-attempt first-byte timeout, the request
   * deadline and a client disconnect.
   */
  readonly attempt: (region: string, signal: AbortSignal) => Promise<T>;
  /** Turns whatever an attempt threw into a ChatError (see fromUpstream). */
  readonly toError: (error: unknown, region: string) => ChatError;
  /** Time limit to first byte of one attempt, ms. */
  readonly attemptTimeoutMs: number;
  /** Absolute time (health clock) by which the request must be answered. */
  readonly deadline: number;
  /** Longest wait for a throttled region when no region can serve now, ms. */
  readonly maxThrottleWaitMs: number;
  readonly requestId: string;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
  readonly observer?: FailoverObserver;
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
}

/** Statuses worth a Retry-After when every region failed. */
const DEFAULT_RETRY_AFTER_MS = 5_000;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}

export async function runWithFailover<T>(options: FailoverOptions<T>): Promise<FailoverResult<T>> {
  const { health, requestId } = options;
  const attempts: Attempt[] = [];
  const errors: ChatError[] = [];

  /** One attempt on one region: the result, or undefined when it failed in a way another region may fix. */
  const tryRegion = async (region: string): Promise<FailoverResult<T> | undefined> => {
    const remaining = options.deadline - health.now();
    if (remaining <= 0) return undefined;
    const started = health.now();
    const firstByteMs = Math.min(options.attemptTimeoutMs, remaining);
    const attempt = startAttempt(firstByteMs, options.deadline - started, options.signal);
    try {
      const value = await options.attempt(region, attempt.signal);
      attempt.firstByte();
      health.recordSuccess(region);
      const record: Attempt = { region, status: 200, durationMs: health.now() - started };
      attempts.push(record);
      options.observer?.onAttempt?.({ ...record, attemptNumber: attempts.length });
      return { value, region, attempts, signal: attempt.signal, done: attempt.release };
    } catch (thrown) {
      attempt.release();
      if (options.signal?.aborted) throw clientClosed(requestId, attempts);
      const error = attempt.timedOut()
        ? new ChatError('upstream_timeout', {
            message: 'The model did not answer in time.',
            diagnosis: `Region ${region} sent no first byte within ${firstByteMs} ms.`,
            cause: thrown,
          })
        : options.toError(thrown, region);
      const record: Attempt = {
        region,
        status: error.upstreamStatus ?? (error.code === 'upstream_timeout' ? 'timeout' : 'connection-error'),
        durationMs: health.now() - started,
        code: error.code,
      };
      attempts.push(record);
      errors.push(error);
      options.observer?.onAttempt?.({ ...record, error, attemptNumber: attempts.length });

      if (error.code === 'throttled' || error.code === 'quota_exhausted') {
        health.recordThrottle(region, health.now() + (error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS), error.code);
      } else if (error.failover) {
        health.recordFailure(region, error.code);
      } else {
        health.recordNeutral(region, error.code);
        throw error.with({ requestId, attempts });
      }
      return undefined;
    }
  };

  const keptOut: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (const region of options.regions) {
      if (options.signal?.aborted) throw clientClosed(requestId, attempts);
      const admission = health.admit(region);
      if (admission.kind === 'skip') {
        // Record a skip once per region, not on the second pass.
        if (pass === 0) {
          attempts.push({
            region,
            status: admission.reason === 'open' ? 'skipped-open' : 'skipped-throttled',
            durationMs: 0,
          });
          if (admission.reason === 'open') keptOut.push(region);
        }
        continue;
      }
      const result = await tryRegion(region);
      if (result) return result;
    }

    // Every region that could be tried has failed. A region kept out by its breaker may have
    // recovered before its cool-down ends: trying it is better than losing the chat.
    if (pass === 0) {
      for (const region of keptOut) {
        if (options.signal?.aborted) throw clientClosed(requestId, attempts);
        const result = await tryRegion(region);
        if (result) return result;
      }
    }

    // Nobody could serve. Wait for a throttled region only if the wait is short and fits the budget.
    const wait = shortestThrottleWait(options, health);
    const fits = wait !== undefined && wait <= options.maxThrottleWaitMs && health.now() + wait < options.deadline;
    if (pass > 0 || !fits) break;
    await (options.sleep ?? defaultSleep)(wait, options.signal).catch(() => {
      throw clientClosed(requestId, attempts);
    });
  }
  throw allFailed(options, health, attempts, errors);
}

/** How long until each region that is skipped now may be tried again, ms, by reason. */
function waits(options: FailoverOptions<unknown>, health: RegionHealth, reason: 'open' | 'throttled'): number[] {
  const now = health.now();
  return options.regions
    .map((region) => health.peek(region))
    .flatMap((a) => (a.kind === 'skip' && a.reason === reason ? [Math.max(0, a.until - now)] : []));
}

function shortestThrottleWait(options: FailoverOptions<unknown>, health: RegionHealth): number | undefined {
  const throttled = waits(options, health, 'throttled');
  return throttled.length > 0 ? Math.min(...throttled) : undefined;
}

function allFailed(
  options: FailoverOptions<unknown>,
  health: RegionHealth,
  attempts: Attempt[],
  errors: ChatError[],
): ChatError {
  const requestId = options.requestId;
  const throttleWaits = waits(options, health, 'throttled');
  const openWaits = waits(options, health, 'open');
  const summary = attempts
    .map((a) => `${a.region}: ${a.status}${a.code ? ` ${a.code}` : ''} (${a.durationMs} ms)`)
    .join('; ');

  // Every region is throttled: 429 with the smallest window, so the client knows when to come back.
  if (throttleWaits.length === options.regions.length) {
    return new ChatError('all_regions_throttled', {
      message: 'Every region is busy. Retry after the time in Retry-After.',
      diagnosis: `All regions throttled: ${summary}.`,
      requestId,
      attempts,
      retryAfterMs: Math.max(1_000, Math.min(...throttleWaits)),
    });
  }
  // The same configuration problem everywhere: that problem is the answer, not "unavailable".
  const first = errors[0];
  if (
    first &&
    errors.every((e) => e.code === first.code) &&
    ['key_rejected', 'token_rejected', 'permission_denied', 'local_auth_disabled', 'endpoint_not_found'].includes(
      first.code,
    )
  ) {
    return first.with({ requestId, attempts, diagnosis: errors.map((e) => e.diagnosis).join(' | ') });
  }
  const retryWaits = [...throttleWaits, ...openWaits];
  const timedOut = health.now() >= options.deadline;
  return new ChatError('all_regions_failed', {
    message: timedOut
      ? 'No region answered before the deadline. Try again shortly.'
      : 'The model service is unavailable in every region. Try again shortly.',
    diagnosis: `All regions failed: ${summary}.${
      errors.length > 0
        ? ` Last: ${errors
            .map((e) => e.diagnosis)
            .filter(Boolean)
            .join(' | ')}`
        : ''
    }`,
    requestId,
    attempts,
    retryAfterMs: Math.max(1_000, retryWaits.length > 0 ? Math.min(...retryWaits) : DEFAULT_RETRY_AFTER_MS),
  });
}

function clientClosed(requestId: string, attempts: readonly Attempt[]): ChatError {
  return new ChatError('client_closed', { message: 'The client closed the connection.', requestId, attempts });
}

/**
 * One attempt's abort signal: fires on the first-byte timeout (until `firstByte()`), the request
 * deadline, or the client's own signal.
 */
function startAttempt(firstByteMs: number, deadlineMs: number, client?: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const abort = (reason: string) => () => {
    if (reason !== 'client') timedOut = true;
    controller.abort(new Error(reason));
  };
  const firstByteTimer = setTimeout(abort('first-byte timeout'), firstByteMs);
  const deadlineTimer = setTimeout(abort('deadline'), Math.max(0, deadlineMs));
  const onClient = abort('client');
  client?.addEventListener('abort', onClient, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    firstByte: () => clearTimeout(firstByteTimer),
    release: () => {
      clearTimeout(firstByteTimer);
      clearTimeout(deadlineTimer);
      client?.removeEventListener('abort', onClient);
    },
  };
}
