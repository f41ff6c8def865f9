/**
 * `BENCH_ONLY=fairness`: one signed-in user floods an instance with 500 concurrent streams while another user
 * chats on the same instance; how long does the other user wait, and is she answered? Two backend processes
 * against the same realistic simulated regions, each with the default load shedding: one with the per-caller
 * limit (`CHAT_CALLER_MAX_IN_FLIGHT`, default) and one without it (`0`, the instance as it was before the limit:
 * only the per-process shedder between the flood and everybody else). Per-user quotas are off on both, so what
 * is measured is admission alone, not a quota the flood would also run into.
 *
 * The flood: 500 workers, each opening a stream, reading it to its end, and opening the next; a worker turned away
 * (429 or 503) waits the answer's `retry-after-ms` (as the openai SDK would) and tries again. After one second of
 * flood, the other user sends one non-streamed chat at a time, each a quarter of a second after the last answer,
 * until the flood's time is up. Prints the section for bench/results/RESULTS.md.
 */
import { startIdentityProvider, type RunningIdentityProvider } from '../local/identity';
import { CALLER_LIMIT_DEFAULTS } from '../shared/resilience/caller-limit';
import { regionsSetting, startBackendProcess, startSimulatorProcess, type BackendProcess } from './processes';
import { ms, percentile, sleep } from './stats';

const FLOOD_STREAMS = 500;
/** The other user's goal: answered, within this long, ms. */
const GOAL_MS = 2_000;
/** The other user gives up on one chat after this long, ms (counted as not answered). */
const GIVE_UP_MS = 30_000;

const body = (content: string, stream: boolean) =>
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], stream });

export interface FairnessSide {
  /** `CHAT_CALLER_MAX_IN_FLIGHT` of this backend (0: no per-caller limit). */
  readonly limit: number;
  /** The other user's chats: latency of each (ms) and its status (0: gave up or connection failed). */
  readonly other: readonly { readonly ms: number; readonly status: number }[];
  /** The flood's answers by status: streams completed (200), refused (429, 503), failed (other). */
  readonly flood: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

/** Reads a response to its end; the status, or 0 when the connection failed. */
async function drain(response: Promise<Response>): Promise<{ status: number; retryAfterMs: number }> {
  try {
    const answered = await response;
    await answered.arrayBuffer();
    return { status: answered.status, retryAfterMs: Number(answered.headers.get('retry-after-ms') ?? 1000) };
  } catch {
    return { status: 0, retryAfterMs: 1000 };
  }
}

async function side(url: string, tokens: { flood: string; other: string }, limit: number, durationMs: number) {
  const post = (token: string, stream: boolean, signal?: AbortSignal) =>
    fetch(`${url}/api/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body(stream ? 'Tell me a story about a lighthouse.' : 'Hello', stream),
      ...(signal ? { signal } : {}),
    });
  const flood: Record<string, number> = {};
  const started = performance.now();
  const until = started + durationMs;
  const workers = Array.from({ length: FLOOD_STREAMS }, async () => {
    while (performance.now() < until) {
      const { status, retryAfterMs } = await drain(post(tokens.flood, true));
      flood[status] = (flood[status] ?? 0) + 1;
      if (status !== 200) await sleep(Math.min(Math.max(0, until - performance.now()), retryAfterMs || 1000));
    }
  });
  await sleep(1_000);
  const other: { ms: number; status: number }[] = [];
  while (performance.now() < until) {
    const sent = performance.now();
    const { status } = await drain(post(tokens.other, false, AbortSignal.timeout(GIVE_UP_MS)));
    other.push({ ms: performance.now() - sent, status });
    await sleep(250);
  }
  await Promise.all(workers);
  return { limit, other, flood, elapsedMs: performance.now() - started };
}

export interface FairnessOptions {
  readonly log: (message: string) => void;
  readonly quick: boolean;
}

/** The flood against the backend with the per-caller limit, then against the one without it. */
export async function fairnessBench(options: FairnessOptions): Promise<FairnessSide[]> {
  const durationMs = options.quick ? 6_000 : 15_000;
  const regions = await Promise.all([
    startSimulatorProcess({ region: 'eastus2', latency: 'realistic' }),
    startSimulatorProcess({ region: 'swedencentral', latency: 'realistic' }),
  ]);
  let identity: RunningIdentityProvider | undefined;
  const backends: BackendProcess[] = [];
  try {
    identity = await startIdentityProvider({ port: 0 });
    const tokens = { flood: await identity.token('flooding-user'), other: await identity.token('other-user') };
    const settings = {
      ...identity.backendSettings(),
      CHAT_REGIONS: regionsSetting(regions),
      CHAT_AUTH_CALLERS: 'users',
      CHAT_USER_REQUESTS_PER_MINUTE: '0',
      CHAT_USER_TOKENS_PER_DAY: '0',
    };
    const sides: FairnessSide[] = [];
    for (const limit of [CALLER_LIMIT_DEFAULTS.maxInFlight, 0]) {
      const backend = await startBackendProcess({
        settings: { ...settings, CHAT_CALLER_MAX_IN_FLIGHT: String(limit) },
      });
      backends.push(backend);
      const result = await side(backend.url, tokens, limit, durationMs);
      sides.push(result);
      options.log(`fairness ${fairnessRow(result)}`);
      await backend.stop();
      await sleep(2_000); // the regions finish the last flood's streams
    }
    return sides;
  } finally {
    await Promise.all([...backends.map((b) => b.stop()), ...regions.map((r) => r.stop()), identity?.close()]);
  }
}

/** One table row (see {@link fairnessSection} for the columns). */
export function fairnessRow(side: FairnessSide): string {
  const latencies = side.other.map((o) => o.ms);
  const answered = side.other.filter((o) => o.status === 200).length;
  const statuses = Object.entries(side.flood)
    .map(([status, count]) => `${count} × ${status === '0' ? 'failed' : status}`)
    .join(', ');
  return (
    `| ${side.limit === 0 ? 'off (0)' : String(side.limit)} | ${answered} of ${side.other.length} | ` +
    `${ms(percentile(latencies, 50))} ms | ${ms(percentile(latencies, 99))} ms | ${ms(Math.max(...latencies))} ms | ${statuses} |`
  );
}

export function fairnessSection(sides: readonly FairnessSide[]): string[] {
  const seconds = Math.round((sides[0]?.elapsedMs ?? 0) / 1000);
  return [
    '## Fairness: another user’s chat while one user floods the instance',
    '',
    `One signed-in user keeps ${FLOOD_STREAMS} streams open at once for about ${seconds} s (each worker reads its ` +
      'stream to the end and opens the next; turned away, it waits its `retry-after-ms`). Another user sends one ' +
      'non-streamed chat at a time to the same instance. Regions with realistic latency, default load shedding, ' +
      'quotas off; the per-caller limit `CHAT_CALLER_MAX_IN_FLIGHT` at its default and off.',
    '',
    '| Per-caller limit | Other user answered 200 | p50 | p99 | Max | Flood’s answers |',
    '| ---: | ---: | ---: | ---: | ---: | --- |',
    ...sides.map(fairnessRow),
  ];
}

/** The goal: with the limit, every chat of the other user answered 200 within 2 s. */
export function fairnessGoals(sides: readonly FairnessSide[]): [string, string, string, boolean][] {
  const on = sides.find((s) => s.limit !== 0);
  const off = sides.find((s) => s.limit === 0);
  if (!on || !off) return [];
  const describe = (s: FairnessSide) =>
    `${s.other.filter((o) => o.status === 200).length}/${s.other.length} answered 200, max ${ms(Math.max(...s.other.map((o) => o.ms)))} ms`;
  const met = on.other.length > 0 && on.other.every((o) => o.status === 200 && o.ms < GOAL_MS);
  return [
    [
      `Another user’s chat under a flood of ${FLOOD_STREAMS} streams from one user (same instance)`,
      `200 within ${GOAL_MS / 1000} s, every time`,
      `limit ${on.limit}: ${describe(on)}; without the limit: ${describe(off)}`,
      met,
    ],
  ];
}
