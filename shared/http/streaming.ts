/**
 * Encoders for streamed bodies: server-sent events and JSON lines. The body is an async iterable
 * of bytes, which the Functions library writes out chunk by chunk (HTTP streaming is on).
 */
import type { HttpResponseInit } from '@azure/functions';

import type { ChatService } from '../chat-service';
import type { ConversationOutcome } from '../conversations';
import type { Logger } from '../logger';
import type { Served } from '../served';
import { realTimers, settledWithin, type Timers } from '../timers';
import { errorBody, servedHeaders, toChatError } from './responses';

/** What a streaming chat handler needs: the chat service, and the heartbeat clock (default: the real one). */
export interface StreamHandlerDeps {
  readonly chat: ChatService;
  readonly timers?: Timers;
}

export { realTimers, settledWithin, type Timers } from '../timers';

const encoder = new TextEncoder();

export type StreamFormat = 'sse' | 'ndjson';

/** SSE when the client asks for `text/event-stream`, else JSON lines (the AI Chat Protocol's format). */
export function streamFormat(accept: string | null): StreamFormat {
  return accept !== null && /text\/event-stream/i.test(accept) ? 'sse' : 'ndjson';
}

export const STREAM_CONTENT_TYPES: Record<StreamFormat, string> = {
  sse: 'text/event-stream; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** Headers every streamed answer carries: no caching, no proxy buffering. */
export function streamHeaders(format: StreamFormat): Record<string, string> {
  return { 'content-type': STREAM_CONTENT_TYPES[format], 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
}

/** One frame: `data: <json>\n\n` (with an optional event name) or `<json>\n`. */
export function frame(format: StreamFormat, value: unknown, event?: string): Uint8Array {
  const json = JSON.stringify(value);
  return encoder.encode(format === 'sse' ? `${event ? `event: ${event}\n` : ''}data: ${json}\n\n` : `${json}\n`);
}

export function rawFrame(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * A keep-alive: an SSE comment line, which EventSource and SSE parsers ignore; for JSON lines a blank
 * line, which the AI Chat Protocol client (and any reader that skips empty lines) ignores.
 */
export function heartbeatFrame(format: StreamFormat): Uint8Array {
  return encoder.encode(format === 'sse' ? ': keep-alive\n\n' : '\n');
}

/**
 * `source` with `beat` sent whenever it is silent for `ms` (0: never). Stopping early (the consumer
 * calls `return()`) stops `source` too, so its `finally` can abort the upstream call.
 */
export async function* withHeartbeats(
  source: AsyncIterable<Uint8Array>,
  beat: Uint8Array,
  ms: number,
  timers: Timers,
): AsyncGenerator<Uint8Array> {
  if (ms <= 0) {
    yield* source;
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = iterator.next();
      let step = await settledWithin(next, ms, timers);
      while (step === undefined) {
        yield beat;
        step = await settledWithin(next, ms, timers);
      }
      if (step.value.done === true) return;
      yield step.value.value;
    }
  } finally {
    await iterator.return?.();
  }
}

export interface StreamResponseOptions {
  /** The service call; it settles when the first chunk worth forwarding arrived (or failover gave up). */
  readonly pending: Promise<Served & { readonly conversation?: () => ConversationOutcome }>;
  /**
   * The answer's frames, read from the same `pending` call: they end with an error frame of their
   * own when the call fails after the response started, or upstream breaks mid-stream.
   */
  readonly body: AsyncIterable<Uint8Array>;
  readonly format: StreamFormat;
  /** Keep-alive interval, ms; 0 turns heartbeats off. */
  readonly heartbeatMs: number;
  readonly timers?: Timers;
  /** Headers known up front (request id); the served headers (region, attempts) are added when known. */
  readonly headers: Record<string, string>;
}

/**
 * A streamed answer with heartbeats. The trade-off: until the first byte goes out, a failure can still be
 * a proper 4xx/5xx (with `Retry-After`) and failover stays invisible; but a silent connection may be cut
 * by a proxy or the Azure front end while regions are tried. So the handler waits up to one heartbeat
 * interval for the service: if it answers (or fails) in time, the response is what it was without
 * heartbeats. If not, the 200 stream starts now with heartbeats, without `x-chat-region` (the final
 * frame's `context.region` still says), and a later failure (e.g. all regions throttled) becomes the
 * stream's error frame instead of a status. Rejects when the service fails within the interval.
 */
export async function streamResponse(options: StreamResponseOptions): Promise<HttpResponseInit> {
  const { pending, format, heartbeatMs } = options;
  const timers = options.timers ?? realTimers;
  const early = heartbeatMs > 0 ? await settledWithin(pending, heartbeatMs, timers) : { value: await pending };
  const served = early === undefined ? {} : servedHeaders(early.value);
  return {
    status: 200,
    headers: { ...streamHeaders(format), ...options.headers, ...served },
    body: withHeartbeats(options.body, heartbeatFrame(format), heartbeatMs, timers),
  };
}

/**
 * A server-sent events answer of an OpenAI-compatible handler: {@link streamResponse} with the deps'
 * heartbeat interval and clock, and the request id header.
 */
export function sseResponse(
  deps: StreamHandlerDeps,
  options: Pick<StreamResponseOptions, 'pending' | 'body'> & {
    readonly requestId: string;
    /** More response headers (e.g. the conversation id). */
    readonly headers?: Readonly<Record<string, string>>;
  },
): Promise<HttpResponseInit> {
  return streamResponse({
    pending: options.pending,
    body: options.body,
    format: 'sse',
    heartbeatMs: deps.chat.config.heartbeatMs,
    ...(deps.timers ? { timers: deps.timers } : {}),
    headers: { 'x-request-id': options.requestId, ...options.headers },
  });
}

/** What an error frame needs: the request id, whether diagnoses may be shown, where to log. */
export interface FrameContext {
  readonly requestId: string;
  readonly exposeDiagnostics: boolean;
  readonly logger: Logger;
}

/**
 * The last frame of a stream that broke after its first byte: the error body, logged once. The chat
 * protocol's SSE names it `event: error`; OpenAI SDKs raise an APIError for a plain `data: {"error": ...}`.
 */
export function errorFrame(format: StreamFormat, thrown: unknown, ctx: FrameContext, event?: string): Uint8Array {
  const error = toChatError(thrown, ctx.requestId);
  ctx.logger.warn(`Stream ended with ${error.code}`, error.diagnosis ? { diagnosis: error.diagnosis } : undefined);
  return frame(format, errorBody(error, ctx), event);
}
