/**
 * A streamed Responses API answer, from the region that serves it to the consumer.
 *
 * Opening ({@link openResponseStream}): the lifecycle events (`response.created`, `response.in_progress`)
 * are held until the first event with output, so that a region whose stream fails at once (Azure sends
 * `response.failed` for the 503 it answers a whole request with) is still an attempt that failed, and
 * another region may serve.
 *
 * Relaying ({@link relayResponseStream}): the events with the caller's ids (./ids.ts), the idle limit, and
 * the report when the stream ends. A stream that breaks after its first byte is not continued from
 * another region, unlike chat (shared/chat-stream.ts): the client already holds the response id from
 * `response.created`, which names a response stored in the region that broke, and a continuation would
 * be another response under another id in another region, so a later `previous_response_id` would
 * follow the cut answer. It ends with `stream_interrupted` instead (the handler sends `response.failed`
 * and `error`).
 */
import { APIError } from 'openai';
import type { ResponseStreamEvent, ResponseUsage } from 'openai/resources/responses/responses';
import type { CompletionReport } from '../chat-report';
import { ChatError } from '../errors';
import type { Logger } from '../logger';
import type { RegionHealth } from '../region-health';
import { nextWithin, StreamStalled, type IdleLimit } from '../resilience/idle-timeout';
import type { Serving } from '../served';
import type { Timers } from '../timers';
import { functionCallsOf, type AnswerToolCall } from '../tool-calls';
import { completionUsage } from './request';

/** A stream whose first event with output is in hand. */
export interface OpenedResponseStream {
  /** The events so far: lifecycle events, then the first with output (none when the stream ended). */
  readonly head: readonly ResponseStreamEvent[];
  readonly rest: AsyncIterator<ResponseStreamEvent>;
}

const LIFECYCLE: ReadonlySet<string> = new Set(['response.created', 'response.in_progress', 'response.queued']);
const TERMINAL: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Reads up to the first event with output; rejects (an APIError, classified as the region's failure) when the stream fails first. */
export async function openResponseStream(events: AsyncIterator<ResponseStreamEvent>): Promise<OpenedResponseStream> {
  const head: ResponseStreamEvent[] = [];
  for (;;) {
    const next = await events.next();
    if (next.done === true) return { head, rest: events };
    const event = next.value;
    if (event.type === 'error' || event.type === 'response.failed') throw failureOf(event);
    head.push(event);
    if (!LIFECYCLE.has(event.type)) return { head, rest: events };
  }
}

/** A stream's own failure as the HTTP error the region answers a whole request with (a 500: failover). */
function failureOf(event: ResponseStreamEvent & { type: 'error' | 'response.failed' }): APIError {
  const error = event.type === 'error' ? event : event.response.error;
  const message = error?.message ?? 'the stream failed';
  return APIError.generate(500, { error: { code: error?.code ?? 'stream_failed', message } }, message, new Headers());
}

export interface ResponseRelayOptions {
  readonly health: RegionHealth;
  /** An event with its ids as the caller gets them (`ResponseIds.issuer(...).event` for the serving region and the caller). */
  readonly issue: <T>(value: T) => T;
  readonly logger: Logger;
  /** Longest silence between two events before the stream counts as broken, ms (0: no limit). */
  readonly idleMs: number;
  /** Clock of the idle limit (default: the real one). */
  readonly timers?: Timers;
  /** The client's signal: a stream it abandoned is not an interruption. */
  readonly clientSignal?: AbortSignal;
}

/** What the report needs when the stream ends. */
class ResponseTally {
  text = '';
  usage: ResponseUsage | undefined;
  /** The terminal event's status (`completed`, `incomplete`, `failed`); undefined until one came. */
  status: string | undefined;
  /** The function calls of the final response. */
  toolCalls: AnswerToolCall[] = [];
  /** Output deltas streamed (about a token each): what a stream that ends without usage is billed beyond its prompt. */
  deltas = 0;

  count(event: ResponseStreamEvent): void {
    if (event.type.endsWith('.delta')) this.deltas += 1;
    if (event.type === 'response.output_text.delta') this.text += event.delta;
    if (TERMINAL.has(event.type) && 'response' in event) {
      this.status = event.response.status ?? event.type.slice('response.'.length);
      this.usage = event.response.usage ?? undefined;
      this.toolCalls = functionCallsOf(event.response.output);
    }
  }
}

/** The consumer's events; the upstream call ends with them (a consumer that stops early aborts it). */
export async function* relayResponseStream(
  serving: Serving<OpenedResponseStream>,
  options: ResponseRelayOptions,
): AsyncGenerator<ResponseStreamEvent> {
  const region = serving.upstream.name;
  const tally = new ResponseTally();
  const { head, rest } = serving.answer;
  const limit: IdleLimit = {
    idleMs: options.idleMs,
    onStall: () => serving.abort(new StreamStalled(options.idleMs)),
    ...(options.timers ? { timers: options.timers } : {}),
  };
  let outcome: CompletionReport['outcome'] = 'abandoned';
  try {
    const events = (async function* () {
      yield* head;
      for (let next = await nextWithin(rest, limit); next.done !== true; next = await nextWithin(rest, limit)) {
        if (next.value.type === 'error') throw failureOf(next.value);
        yield next.value;
      }
    })();
    for await (const event of events) {
      tally.count(event);
      yield options.issue(event);
      if (tally.status !== undefined) break;
    }
    if (tally.status === undefined) throw new Error('the stream ended without a final event');
    if (tally.status === 'failed') options.health.recordFailure(region, 'stream_interrupted');
    outcome = tally.status === 'failed' ? 'interrupted' : 'completed';
  } catch (error) {
    if (options.clientSignal?.aborted) return;
    outcome = 'interrupted';
    throw interrupted(serving, error, options);
  } finally {
    serving.release();
    if (!serving.signal.aborted) await rest.return?.(undefined);
    const usage = completionUsage(tally.usage);
    const end = {
      outcome,
      usage,
      finishReason: tally.status,
      toolCalls: tally.toolCalls,
      ...(usage ? {} : { unmetered: { calls: 1, chunks: tally.deltas } }),
    };
    await serving.report.completed(serving.upstream, { streamed: true, ...end, answer: () => tally.text });
  }
}

/** A stream that broke after its first byte: the region's breaker hears of it, the client gets `stream_interrupted`. */
function interrupted(serving: Serving<OpenedResponseStream>, error: unknown, options: ResponseRelayOptions): ChatError {
  const region = serving.upstream.name;
  const deadline = serving.signal.aborted && !(error instanceof StreamStalled);
  options.health.recordFailure(region, deadline ? 'upstream_timeout' : 'stream_interrupted');
  options.logger.warn(`Response stream from ${region} broke after the first byte`, { code: 'stream_interrupted' });
  return new ChatError('stream_interrupted', {
    message: deadline
      ? 'The answer took too long and was cut off.'
      : 'The connection to the model broke mid-answer. The answer is incomplete; send the request again.',
    diagnosis: `Region ${region} response stream ended early: ${error instanceof Error ? error.message : String(error)}`,
    requestId: serving.served.requestId,
    attempts: serving.served.attempts,
    cause: error,
  });
}
