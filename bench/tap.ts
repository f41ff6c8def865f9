/**
 * A tap on the backend's upstream calls, for the streaming benchmark: wraps `globalThis.fetch` (which the
 * `openai` clients of the chat service pick up when they are built) and records, per request id, when each
 * server-sent event from the region arrived and how much answer text had arrived by then. The load generator
 * records the same for what reaches it; the difference per event is the time the backend held the chunk.
 * Off by default so that the non-streamed measurements pay nothing for it.
 */
import { monotonicMs } from './stats';

/** One upstream event: answer characters received so far, and when (monotonic ms, see {@link monotonicMs}). */
export interface TapEvent {
  readonly chars: number;
  readonly at: number;
}

export interface UpstreamTap {
  setEnabled(enabled: boolean): void;
  /** Everything recorded since the last call, keyed by the `x-ms-client-request-id` sent upstream. */
  take(): Record<string, TapEvent[]>;
}

/** Must run before the chat service builds its `openai` clients (they capture `fetch` then). */
export function installUpstreamTap(): UpstreamTap {
  const original = globalThis.fetch;
  let enabled = false;
  let records: Record<string, TapEvent[]> = {};

  const tapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await original(input, init);
    if (!enabled || response.body === null) return response;
    const id = new Headers(init?.headers).get('x-ms-client-request-id');
    if (id === null || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
    const events: TapEvent[] = [];
    records[id] = events;
    const decoder = new TextDecoder();
    let buffer = '';
    let chars = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          const at = monotonicMs();
          controller.enqueue(chunk);
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            chars += contentChars(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            events.push({ chars, at });
          }
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  globalThis.fetch = tapped;

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
