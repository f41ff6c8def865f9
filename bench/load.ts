/** Load generation with the official `openai` client, the same way for the simulator and for the backend. */
import OpenAI from 'openai';
import { BENCH_FUNCTION_KEY } from './protocol';
import type { SideResult } from './report';
import { monotonicMs, percentile } from './stats';
import type { TapEvent } from './tap';

export const MODEL = 'gpt-4o';
const messages = [{ role: 'user' as const, content: 'Summarise the benefits of a circuit breaker in two sentences.' }];

/** A client for one simulated region, called directly (no backend). */
export function directClient(simulatorUrl: string): OpenAI {
  return new OpenAI({ baseURL: `${simulatorUrl}/openai/v1/`, apiKey: 'simulator-key', maxRetries: 0 });
}

/**
 * A client for the backend's OpenAI-compatible endpoint: with the bench's function key, or with `bearer`
 * (an access token, sent by the `openai` client as `Authorization: Bearer <apiKey>`) for a signed-in user.
 */
export function backendClient(backendUrl: string, auth: { readonly bearer?: string } = {}): OpenAI {
  return new OpenAI({
    baseURL: `${backendUrl}/api/v1/`,
    apiKey: auth.bearer ?? 'unused',
    ...(auth.bearer === undefined ? { defaultHeaders: { 'x-functions-key': BENCH_FUNCTION_KEY } } : {}),
    maxRetries: 0,
  });
}

/**
 * A client for the Portkey gateway's OpenAI-compatible route (`/v1`): its routing comes with every request in
 * the `x-portkey-config` header; the regions' key is in that config, so the client's own key is unused.
 */
export function portkeyClient(portkey: { readonly url: string; readonly config: string }): OpenAI {
  return new OpenAI({
    baseURL: `${portkey.url}/v1/`,
    apiKey: 'unused',
    defaultHeaders: { 'x-portkey-config': portkey.config },
    maxRetries: 0,
  });
}

export interface ClosedLoopResult {
  /** Latency of each successful request, ms. */
  readonly latencies: number[];
  readonly failures: number;
  readonly elapsedMs: number;
}

/** `requests` non-streamed chats, `concurrency` at a time (each worker sends the next when its last is answered). */
export async function closedLoop(client: OpenAI, concurrency: number, requests: number): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let failures = 0;
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < requests) {
      issued++;
      const sent = performance.now();
      try {
        await client.chat.completions.create({ model: MODEL, messages });
        latencies.push(performance.now() - sent);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures, elapsedMs: performance.now() - started };
}

/**
 * Runs each side for a half, in the order given and then reversed (a, b, c, c, b, a): every side's halves
 * sit at the same mean position in time, so a steady drift in the machine's speed during the measurement
 * falls on all sides alike. Returns each side's two halves.
 */
export async function interleavedSides<S extends string, T>(
  sides: readonly S[],
  run: (side: S) => Promise<T>,
): Promise<Record<S, T[]>> {
  const halves = Object.fromEntries(sides.map((side) => [side, [] as T[]])) as Record<S, T[]>;
  for (const side of [...sides, ...[...sides].reverse()]) halves[side].push(await run(side));
  return halves;
}

/** Two sides in ABBA order (a, b, b, a), each `run` a half; see {@link interleavedSides}. */
export async function interleaved<T>(run: (side: 'a' | 'b') => Promise<T>): Promise<{ a: T[]; b: T[] }> {
  return interleavedSides(['a', 'b'] as const, run);
}

/** One side's closed-loop halves as one: throughput over their summed time, percentiles over all latencies. */
export function mergeLoops(parts: readonly ClosedLoopResult[]): SideResult {
  const latencies = parts.flatMap((p) => p.latencies);
  const elapsed = parts.reduce((a, p) => a + p.elapsedMs, 0);
  const failures = parts.reduce((a, p) => a + p.failures, 0);
  return {
    rps: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures,
    requests: latencies.length + failures,
  };
}

/** One answered request of {@link chatOnce}. */
export interface ChatOutcome {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly region?: string;
  readonly error?: string;
}

/** One non-streamed chat, with the region that answered (`x-chat-region`, backend only). */
export async function chatOnce(client: OpenAI): Promise<ChatOutcome> {
  const sent = performance.now();
  try {
    const { response } = await client.chat.completions.create({ model: MODEL, messages }).withResponse();
    return { ok: true, latencyMs: performance.now() - sent, region: response.headers.get('x-chat-region') ?? '' };
  } catch (error) {
    return {
      ok: false,
      latencyMs: performance.now() - sent,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

export interface StreamOutcome {
  readonly ok: boolean;
  /** Request sent to first chunk with answer text, ms. */
  readonly ttftMs: number;
  /** Each chunk with answer text as it reached the client: characters so far, monotonic ms. */
  readonly events: TapEvent[];
  /** The answer text as received. */
  readonly text: string;
  /** The region that served the first byte (`x-chat-region`, backend only). */
  readonly region?: string;
  /** The backend's `x_served_by` (an answer continued from another region): chars sent by each part. */
  readonly parts?: readonly { readonly region: string; readonly chars: number }[];
  readonly error?: string;
}

/** One streamed chat; `requestId` is sent as `x-request-id` (the backend carries it upstream). */
export async function streamOnce(client: OpenAI, requestId: string): Promise<StreamOutcome> {
  const sent = monotonicMs();
  const events: TapEvent[] = [];
  let text = '';
  try {
    const { data: stream, response } = await client.chat.completions
      .create({ model: MODEL, messages, stream: true }, { headers: { 'x-request-id': requestId } })
      .withResponse();
    const region = response.headers.get('x-chat-region') ?? undefined;
    let parts: StreamOutcome['parts'];
    for await (const chunk of stream) {
      const at = monotonicMs();
      parts = (chunk as { x_served_by?: StreamOutcome['parts'] }).x_served_by ?? parts;
      const added = chunk.choices[0]?.delta.content ?? '';
      if (added === '') continue;
      text += added;
      events.push({ chars: text.length, at });
    }
    const ttftMs = (events[0]?.at ?? Number.NaN) - sent;
    return { ok: events.length > 0, ttftMs, events, text, ...(parts ? { parts } : {}), ...(region ? { region } : {}) };
  } catch (error) {
    return {
      ok: false,
      ttftMs: Number.NaN,
      events,
      text,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Gaps between consecutive chunks of one stream, ms. */
export function gaps(events: readonly TapEvent[]): number[] {
  return events.slice(1).map((e, i) => e.at - (events[i]?.at ?? e.at));
}

/**
 * How long the backend held each chunk: for every chunk the client saw, its arrival minus the arrival
 * upstream (in the backend process) of the event that brought the answer to the same length.
 */
export function holdTimes(client: readonly TapEvent[], upstream: readonly TapEvent[]): number[] {
  const held: number[] = [];
  let j = 0;
  for (const event of client) {
    while (j < upstream.length && (upstream[j]?.chars ?? 0) < event.chars) j++;
    const source = upstream[j];
    if (source !== undefined) held.push(event.at - source.at);
  }
  return held;
}
