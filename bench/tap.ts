/**
 * Taps in the backend process, for the streaming benchmark. For each streamed request (keyed by its request
 * id) they record when each server-sent event passed three points, with how much answer text had passed by
 * then: `upstream`, arriving from the region (a wrapper of `globalThis.fetch`, which the chat service's
 * `openai` clients pick up when they are built); `proxy`, written by the handler's response into the
 * `@azure/functions` HTTP-streaming proxy; `host`, written by the local host to the client's socket (both
 * through `http.ServerResponse.prototype.write`, told apart by the socket's port). The load generator records
 * the fourth point, arrival at the client. Off by default so that other measurements pay nothing for it.
 */
import http from 'node:http';
import { monotonicMs } from './stats';

/** One event at one point: answer characters passed so far, and when (monotonic ms, see {@link monotonicMs}). */
export interface TapEvent {
  readonly chars: number;
  readonly at: number;
}

export type TapPoint = 'upstream' | 'proxy' | 'host';
export type StreamTaps = Partial<Record<TapPoint, TapEvent[]>>;

export interface BackendTaps {
  setEnabled(enabled: boolean): void;
  /** Everything recorded since the last call, by request id. */
  take(): Record<string, StreamTaps>;
}

/** Splits a byte stream into SSE events and counts the answer text in them. */
class EventCounter {
  readonly #decoder = new TextDecoder();
  #buffer = '';
  #chars = 0;
  constructor(readonly events: TapEvent[]) {}

  push(bytes: Uint8Array | string, at: number): void {
    this.#buffer += typeof bytes === 'string' ? bytes : this.#decoder.decode(bytes, { stream: true });
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      this.#chars += contentChars(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end + 2);
      this.events.push({ chars: this.#chars, at });
    }
  }
}

/**
 * Must run before the chat service builds its `openai` clients (they capture `fetch` then). `hostPort` says
 * which server sockets are the host's own (the others belong to the library's proxy).
 */
export function installBackendTaps(hostPort: () => number): BackendTaps {
  let enabled = false;
  let records: Record<string, StreamTaps> = {};
  const counter = (id: string, point: TapPoint) => {
    const taps = (records[id] ??= {});
    return new EventCounter((taps[point] ??= []));
  };

  const originalFetch = globalThis.fetch;
  const tappedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await originalFetch(input, init);
    if (!enabled || response.body === null) return response;
    const id = new Headers(init?.headers).get('x-ms-client-request-id');
    if (id === null || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
    const events = counter(id, 'upstream');
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          events.push(chunk, monotonicMs());
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  globalThis.fetch = tappedFetch;

  const counters = new WeakMap<http.ServerResponse, EventCounter | null>();
  // Called with the response as `this` below, as the original would be.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const originalWrite = http.ServerResponse.prototype.write;
  http.ServerResponse.prototype.write = function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (enabled && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      const at = monotonicMs();
      let events = counters.get(this);
      if (events === undefined) {
        // Keyed by the client's request id (the proxied request carries it too); non-SSE bodies yield no events.
        const id = this.req.headers['x-request-id'];
        events = typeof id === 'string' ? counter(id, this.socket?.localPort === hostPort() ? 'host' : 'proxy') : null;
        counters.set(this, events);
      }
      events?.push(chunk, at);
    }
    return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof originalWrite;

  return {
    setEnabled(value) {
      enabled = value;
    },
    take() {
      const taken = records;
      records = {};
      return taken;
    },
  };
}

/** Length of the answer text in one SSE event (`data: {...}`), 0 for anything else. */
export function contentChars(event: string): number {
  let total = 0;
  for (const line of event.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') continue;
    try {
      const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
      total += parsed.choices?.[0]?.delta?.content?.length ?? 0;
    } catch {
      // Not JSON: not an answer chunk.
    }
  }
  return total;
}
