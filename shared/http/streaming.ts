/**
 * Encoders for streamed bodies: server-sent events and JSON lines. The body is an async iterable
 * of bytes, which the Functions library writes out chunk by chunk (HTTP streaming is on).
 */

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
