/**
 * `BENCH_ONLY=overload`: the backend past saturation, with load shedding on and off. For each load
 * (non-streamed chats against quiet simulated regions, streamed chats against realistic ones), two backend
 * processes: one with the default `CHAT_SHED_LAG_MS`, one with it at 60 000 (shedding as good as off, while its
 * lag is still measured and shown in health). Per concurrency, closed loops of the official `openai` client (no
 * retries of its own) run against each backend in turn (on, off, off, on halves of a fixed time each). A client
 * turned away (503 `overloaded`) waits the answer's `retry-after-ms`, as the openai SDK would before its own
 * retry, then sends its next request. Prints the section for bench/results/RESULTS.md.
 */
import { APIError, type OpenAI } from 'openai';
import { backendClient, MODEL } from './load';
import {
  regionsSetting,
  startBackendProcess,
  startSimulatorProcess,
  type BackendProcess,
  type Latency,
} from './processes';
import { OVERLOAD_DEFAULTS } from '../shared/resilience/load-shedder';
import { ms, percentile, sleep } from './stats';

const messages = [{ role: 'user' as const, content: 'Summarise the benefits of a circuit breaker in two sentences.' }];

type Mode = 'chat' | 'stream';

/** What one side saw in one half (or, merged, in both). */
interface Tally {
  /** Per answered request: latency (chat) or time to the first text (stream), ms. */
  served: number[];
  /** Gaps between text chunks of answered streams, ms. */
  gaps: number[];
  /** Per 503 overloaded: request to answer, ms, and its retry-after-ms. */
  shed: number[];
  retryAfterMs: number[];
  /** Every 503 carried Retry-After, retry-after-ms and x-should-retry. */
  shedHeadersOk: boolean;
  failures: number;
  elapsedMs: number;
  /** Largest smoothed lag GET /api/health reported, ms, and the backend's CHAT_SHED_LAG_MS. */
  maxLagMs: number;
  thresholdMs: number;
}

export interface OverloadLeg extends Tally {
  readonly mode: Mode;
  readonly concurrency: number;
  readonly shedding: boolean;
}

/** One answered request's timings (ms): latency or time to first text, and a stream's chunk gaps. */
async function answer(client: OpenAI, mode: Mode): Promise<{ ms: number; gaps: number[] }> {
  const sent = performance.now();
  if (mode === 'chat') {
    await client.chat.completions.create({ model: MODEL, messages, max_tokens: 16 });
    return { ms: performance.now() - sent, gaps: [] };
  }
  const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
  let first = Number.NaN;
  let last = Number.NaN;
  const gaps: number[] = [];
  for await (const chunk of stream) {
    if (!chunk.choices[0]?.delta.content) continue;
    const at = performance.now();
    if (Number.isNaN(first)) first = at - sent;
    else gaps.push(at - last);
    last = at;
  }
  return { ms: first, gaps };
}

/** One request; a 503 overloaded is counted as shed and waited out (its retry-after-ms, never past `until`). */
async function oneRequest(client: OpenAI, mode: Mode, tally: Tally, until: number): Promise<void> {
  const sent = performance.now();
  try {
    const timing = await answer(client, mode);
    tally.served.push(timing.ms);
    tally.gaps.push(...timing.gaps);
  } catch (error) {
    if (!(error instanceof APIError) || error.status !== 503 || error.code !== 'overloaded') {
      tally.failures += 1;
      return;
    }
    tally.shed.push(performance.now() - sent);
    const headers = (error as APIError).headers; // instanceof narrows to APIError<any, any>
    const wait = Number(headers?.get('retry-after-ms'));
    tally.retryAfterMs.push(wait);
    tally.shedHeadersOk &&= Boolean(headers?.get('retry-after')) && Boolean(headers?.get('x-should-retry'));
    await sleep(Math.max(0, Math.min(Number.isFinite(wait) ? wait : 1_000, until - performance.now())));
  }
}

/** Polls GET /api/health every 200 ms while `running()`: the largest smoothed lag, and the threshold. */
async function watchLag(url: string, running: () => boolean): Promise<Pick<Tally, 'maxLagMs' | 'thresholdMs'>> {
  let maxLagMs = 0;
  let thresholdMs = Number.NaN;
  while (running()) {
    const health = (await fetch(`${url}/api/health`).then((r) => r.json())) as {
      overload?: { lagMs?: number; thresholdMs?: number };
    };
    maxLagMs = Math.max(maxLagMs, health.overload?.lagMs ?? 0);
    thresholdMs = health.overload?.thresholdMs ?? thresholdMs;
    await sleep(200);
  }
  return { maxLagMs, thresholdMs };
}

async function half(backend: BackendProcess, mode: Mode, concurrency: number, durationMs: number): Promise<Tally> {
  const client = backendClient(backend.url);
  const tally: Tally = {
    ...{ served: [], gaps: [], shed: [], retryAfterMs: [], shedHeadersOk: true, failures: 0 },
    ...{ elapsedMs: 0, maxLagMs: 0, thresholdMs: Number.NaN },
  };
  const started = performance.now();
  const until = started + durationMs;
  let running = true;
  const lag = watchLag(backend.url, () => running);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) await oneRequest(client, mode, tally, until);
    }),
  );
  tally.elapsedMs = performance.now() - started;
  running = false;
  return { ...tally, ...(await lag) };
}

function merge(parts: readonly Tally[], leg: Pick<OverloadLeg, 'mode' | 'concurrency' | 'shedding'>): OverloadLeg {
  const sum = (pick: (t: Tally) => number) => parts.reduce((a, p) => a + pick(p), 0);
  return {
    ...leg,
    served: parts.flatMap((p) => p.served),
    gaps: parts.flatMap((p) => p.gaps),
    shed: parts.flatMap((p) => p.shed),
    retryAfterMs: parts.flatMap((p) => p.retryAfterMs),
    shedHeadersOk: parts.every((p) => p.shedHeadersOk),
    failures: sum((p) => p.failures),
    elapsedMs: sum((p) => p.elapsedMs),
    maxLagMs: Math.max(...parts.map((p) => p.maxLagMs)),
    thresholdMs: parts[0]?.thresholdMs ?? Number.NaN,
  };
}

export interface OverloadBenchOptions {
  readonly log: (message: string) => void;
  readonly quick: boolean;
}

/** Both loads, each concurrency against both backends; the legs in the order they ran (on, then off). */
export async function overloadBench(options: OverloadBenchOptions): Promise<OverloadLeg[]> {
  const halfMs = options.quick ? 3_000 : 8_000;
  const legs: OverloadLeg[] = [];
  for (const [mode, latency] of [
    ['chat', 'none'],
    ['stream', 'realistic'],
  ] as const) {
    legs.push(...(await loadLegs(mode, latency, halfMs, options.log)));
  }
  return legs;
}

async function loadLegs(
  mode: Mode,
  latency: Latency,
  halfMs: number,
  log: (m: string) => void,
): Promise<OverloadLeg[]> {
  const regions = await Promise.all([
    startSimulatorProcess({ region: 'eastus2', latency }),
    startSimulatorProcess({ region: 'swedencentral', latency }),
  ]);
  const settings = { CHAT_REGIONS: regionsSetting(regions) };
  // BENCH_SHED_LAG_MS tries another threshold on the shedding side; by default it runs the backend's default.
  const threshold = process.env.BENCH_SHED_LAG_MS ?? String(OVERLOAD_DEFAULTS.lagMs);
  const on = await startBackendProcess({ settings: { ...settings, CHAT_SHED_LAG_MS: threshold } });
  const off = await startBackendProcess({ settings: { ...settings, CHAT_SHED_LAG_MS: '60000' } });
  try {
    for (const backend of [on, off]) await half(backend, mode, 16, 1_000);
    const legs: OverloadLeg[] = [];
    for (const concurrency of [256, 1024]) {
      const halves: Record<'on' | 'off', Tally[]> = { on: [], off: [] };
      for (const side of ['on', 'off', 'off', 'on'] as const) {
        halves[side].push(await half(side === 'on' ? on : off, mode, concurrency, halfMs));
        await sleep(2_000); // the last half's backlog drains before the next
      }
      for (const side of ['on', 'off'] as const) {
        legs.push(merge(halves[side], { mode, concurrency, shedding: side === 'on' }));
        log(`overload ${overloadRow(legs[legs.length - 1] as OverloadLeg)}`);
      }
    }
    return legs;
  } finally {
    await Promise.all([on.stop(), off.stop(), ...regions.map((r) => r.stop())]);
  }
}

/** One table row (see {@link overloadSection} for the columns). */
export function overloadRow(leg: OverloadLeg): string {
  const rps = (leg.served.length / leg.elapsedMs) * 1000;
  const retry = leg.retryAfterMs.length
    ? `${Math.min(...leg.retryAfterMs)}–${Math.max(...leg.retryAfterMs)} ms${leg.shedHeadersOk ? '' : ' (headers missing)'}`
    : '—';
  const shedLatency = leg.shed.length ? `${ms(percentile(leg.shed, 50))} / ${ms(percentile(leg.shed, 99))} ms` : '—';
  const gap = leg.mode === 'stream' ? `${ms(percentile(leg.gaps, 99))} ms` : '—';
  return (
    `| ${leg.mode === 'chat' ? 'chat' : 'stream (TTFT)'} | ${leg.concurrency} | ${leg.shedding ? `on (${leg.thresholdMs} ms)` : 'off'} | ` +
    `${leg.served.length} | ${rps.toFixed(0)} | ${ms(percentile(leg.served, 50))} ms | ${ms(percentile(leg.served, 99))} ms | ${gap} | ` +
    `${leg.shed.length} | ${shedLatency} | ${retry} | ${ms(leg.maxLagMs)} ms | ${leg.failures} |`
  );
}

/** The section for RESULTS.md. */
export function overloadSection(legs: readonly OverloadLeg[]): string[] {
  const seconds = Math.round((legs[0]?.elapsedMs ?? 0) / 1000);
  return [
    '## Overload: load shedding on and off',
    '',
    `Closed loops of the \`openai\` client against two backends, about ${seconds} s a side per row (halves ` +
      'interleaved on, off, off, on): non-streamed chats with the simulator answering at once, and streamed chats ' +
      'with its realistic latency. Shedding on: the default `CHAT_SHED_LAG_MS` (or `BENCH_SHED_LAG_MS`); off: 60 000. A client turned away ' +
      '(503 `overloaded`) waits its `retry-after-ms`, as the openai SDK would, before its next request. p50 and p99 ' +
      'are of answered requests only (latency, or time to first text for streams); a shed answer is timed from ' +
      'request to 503. Max smoothed lag: the largest `overload.lagMs` GET /api/health showed (polled every 200 ms).',
    '',
    '| Load | Concurrency | Shedding | Answered | Answered/s | p50 | p99 | Chunk gap p99 | Shed (503) | Shed answer p50 / p99 | Retry-After | Max smoothed lag | Other failures |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...legs.map(overloadRow),
  ];
}

/**
 * Issue 17.5's goal per load: past saturation (the highest concurrency run), shedding keeps the p99 of answered
 * requests below what it is without shedding, and a client turned away hears so quickly, with Retry-After.
 */
export function overloadGoals(legs: readonly OverloadLeg[]): [string, string, string, boolean][] {
  const top = Math.max(...legs.map((leg) => leg.concurrency));
  return (['chat', 'stream'] as const).flatMap((mode) => {
    const on = legs.find((leg) => leg.mode === mode && leg.concurrency === top && leg.shedding);
    const off = legs.find((leg) => leg.mode === mode && leg.concurrency === top && !leg.shedding);
    if (!on || !off) return [];
    const onP99 = percentile(on.served, 99);
    const offP99 = percentile(off.served, 99);
    const shedP99 = percentile(on.shed, 99);
    const what = mode === 'chat' ? 'latency' : 'time to first text';
    return [
      [
        `Past saturation (${top} concurrent ${mode === 'chat' ? 'chats' : 'streams'}), p99 ${what} of answered requests, shedding on vs off`,
        'lower with shedding on; every 503 with Retry-After',
        `${ms(onP99)} vs ${ms(offP99)} ms; ${on.shed.length} shed (answered p50 ${ms(percentile(on.shed, 50))} / p99 ${ms(shedP99)} ms), ` +
          `Retry-After on ${on.shedHeadersOk ? 'every one' : 'not every one'}`,
        onP99 < offP99 && on.shedHeadersOk,
      ] as [string, string, string, boolean],
    ];
  });
}
