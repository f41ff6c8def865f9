/**
 * `npm run bench`: the backend measured beside a direct call to the simulator, in one run on one machine,
 * and for non-streamed chat beside the Portkey gateway too. Starts the simulated regions,
 * the backend and Portkey as child processes on loopback, runs each measurement with fixed request counts,
 * prints progress, and writes bench/results/RESULTS.md and bench/results/failover.svg. `BENCH_QUICK=1` runs a tenth of the requests (for trying the bench itself).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type OpenAI from 'openai';
import { failoverChart } from './chart';
import {
  backendClient,
  chatOnce,
  closedLoop,
  directClient,
  gaps,
  holdTimes,
  interleavedSides,
  mergeLoops,
  portkeyClient,
  streamOnce,
  type ChatOutcome,
  type StreamOutcome,
} from './load';
import {
  freePort,
  regionsSetting,
  startBackendProcess,
  startSimulatorProcess,
  type BackendProcess,
  type SimulatorProcess,
} from './processes';
import {
  authGoals,
  authNotes,
  authSection,
  nonStreamedGoals,
  nonStreamedSection,
  portkeyNotes,
  renderResults,
  streamFailoverGoals,
  streamFailoverSection,
  type Results,
  type FailoverSample,
  type LevelResult,
  type SideResult,
  type StreamSide,
} from './report';
import { authOverhead } from './auth';
import { checkPortkeyFallback, startPortkeyProcess, type PortkeyProcess } from './portkey';
import { conversationBench } from './conversations';
import { cpuAttribution, profileGoals, profileSection } from './profile';
import { fairnessBench, fairnessGoals, fairnessSection } from './fairness';
import { overloadBench, overloadGoals, overloadSection } from './overload';
import { streamFailover } from './stream-failover';
import { tokenCountBench, tokenCountGoals, tokenCountSection } from './token-count';
import { streamedBench, streamedGoals, streamedSection } from './streamed';
import { median, ms, percentile, sleep } from './stats';

const QUICK = process.env.BENCH_QUICK === '1';
/**
 * `BENCH_ONLY=failover` runs the failover phase alone and writes only its chart; `BENCH_ONLY=stream-failover`
 * and `BENCH_ONLY=auth` run the streamed failover phase or the sign-in and quota phase alone and print its
 * goal rows and section for RESULTS.md; `BENCH_ONLY=nonstreamed` runs the non-streamed levels alone (direct,
 * Portkey, backend) and prints their goal rows and section; `BENCH_ONLY=profile` runs the CPU attribution alone
 * (bench/profile.ts; `BENCH_PROFILES=dir` keeps the `.cpuprofile` files); `BENCH_ONLY=conversations` runs the
 * conversation phase alone (bench/conversations.ts) and prints its goal row; `BENCH_ONLY=overload` runs load
 * shedding on and off past saturation (bench/overload.ts) and prints its section; `BENCH_ONLY=token-count` measures
 * counting untrusted text, worst case per script, before and after the count was bounded (bench/token-count.ts);
 * `BENCH_ONLY=streamed` runs 64-token streamed chats at latency `none`, direct vs Portkey vs the backend
 * (bench/streamed.ts); `BENCH_ONLY=fairness` floods one instance with one user's streams and times another
 * user's chats, with the per-caller limit and without (bench/fairness.ts).
 */
const ONLY = process.env.BENCH_ONLY;
const scale = (n: number) => (QUICK ? Math.max(10, Math.round(n / 10)) : n);
const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'results');

/** Non-streamed levels: concurrency and requests per side. */
const LEVELS = [
  { concurrency: 1, requests: scale(400) },
  { concurrency: 16, requests: scale(2000) },
  { concurrency: 64, requests: scale(3000) },
  { concurrency: 256, requests: scale(3000) },
];
const SEQUENTIAL_STREAMS = QUICK ? 3 : 12;
const CONCURRENT_STREAMS = QUICK ? 8 : 32;
const MEMORY_STREAMS = 256;
const COLD_STARTS = QUICK ? 1 : 3;
const IMPORT_RUNS = QUICK ? 2 : 5;
/**
 * Failover run: open-loop rate, when the primary is killed and restarted (ms from start), and how long traffic
 * runs: at least `durationMs`, and on until `tailMs` after the primary answers again (at most `maxDurationMs`).
 */
const FAILOVER = {
  rps: 50,
  durationMs: 12_000,
  maxDurationMs: 25_000,
  tailMs: 2_000,
  killAtMs: 3_000,
  restartAtMs: 7_000,
  cooldownMs: 2_000,
};

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function startRegions(latency: 'none' | 'realistic'): Promise<[SimulatorProcess, SimulatorProcess]> {
  return Promise.all([
    startSimulatorProcess({ region: 'eastus2', latency }),
    startSimulatorProcess({ region: 'swedencentral', latency }),
  ]);
}

async function stopAll(...things: { stop(): Promise<void> }[]): Promise<void> {
  await Promise.all(things.map((t) => t.stop()));
}

// ---------------------------------------------------------------------------------------------------------------
// Cold start and import time

async function coldStartPhase(regions: readonly SimulatorProcess[]): Promise<Results['coldStart']> {
  const firstAnswerMs: number[] = [];
  const readyMs: number[] = [];
  for (let run = 0; run < COLD_STARTS; run++) {
    const port = await freePort();
    const client = backendClient(`http://127.0.0.1:${port}`);
    const started = performance.now();
    let ready = Number.NaN;
    const backend = startBackendProcess({ settings: { CHAT_REGIONS: regionsSetting(regions) }, port }).then((b) => {
      ready = performance.now() - started;
      return b;
    });
    backend.catch(() => undefined);
    // Poll until the first chat is answered: connection refused until the host listens.
    let answered = Number.NaN;
    for (let i = 0; i < 5_000 && Number.isNaN(answered); i++) {
      const outcome = await chatOnce(client);
      if (outcome.ok) answered = performance.now() - started;
      else await sleep(2);
    }
    firstAnswerMs.push(answered);
    readyMs.push(ready);
    await (await backend).stop();
    log(`cold start ${run + 1}/${COLD_STARTS}: first answer after ${ms(answered)} ms (host ready ${ms(ready)} ms)`);
  }

  const run = async (which: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, 'import-time.js'), which]);
    return JSON.parse(stdout) as { ms?: number; steps?: [string, number][] };
  };
  const bare: number[] = [];
  const entry: number[] = [];
  const steps = new Map<string, number[]>();
  for (let i = 0; i < IMPORT_RUNS; i++) {
    bare.push((await run('bare')).ms ?? Number.NaN);
    entry.push((await run('entry')).ms ?? Number.NaN);
    for (const [name, value] of (await run('breakdown')).steps ?? [])
      steps.set(name, [...(steps.get(name) ?? []), value]);
  }
  log(
    `import: @azure/functions + openai ${ms(median(bare))} ms, entry ${ms(median(entry))} ms (median of ${IMPORT_RUNS})`,
  );
  return {
    runs: COLD_STARTS,
    firstAnswerMs,
    readyMs,
    importRuns: IMPORT_RUNS,
    bareImportMs: median(bare),
    entryImportMs: median(entry),
    breakdown: [...steps].map(([name, values]) => ({ name, ms: median(values) })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Non-streamed throughput and latency

/** The processes of the non-streamed levels: the regions (side "direct" calls the first) and the two in between. */
interface NonStreamedSetup {
  readonly regions: readonly SimulatorProcess[];
  readonly portkey: PortkeyProcess;
  readonly backend: BackendProcess;
}

/**
 * One level: each side's halves interleaved (direct, Portkey, backend, backend, Portkey, direct); the CPU of
 * Portkey's and the backend's process is read around each of their halves.
 */
async function nonStreamedLevel(
  clients: Readonly<Record<'direct' | 'portkey' | 'backend', OpenAI>>,
  setup: NonStreamedSetup,
  level: { readonly concurrency: number; readonly requests: number },
): Promise<LevelResult> {
  const half = Math.ceil(level.requests / 2);
  const cpuMicros = { portkey: 0, backend: 0 };
  const sides = await interleavedSides(['direct', 'portkey', 'backend'] as const, async (side) => {
    if (side === 'direct') return closedLoop(clients.direct, level.concurrency, half);
    const before = (await setup[side].stats()).cpuMicros;
    const result = await closedLoop(clients[side], level.concurrency, half);
    cpuMicros[side] += (await setup[side].stats()).cpuMicros - before;
    return result;
  });
  return {
    concurrency: level.concurrency,
    direct: mergeLoops(sides.direct),
    portkey: mergeLoops(sides.portkey),
    backend: mergeLoops(sides.backend),
    portkeyCpuMsPerRequest: cpuMicros.portkey / 1000 / (2 * half),
    backendCpuMsPerRequest: cpuMicros.backend / 1000 / (2 * half),
  };
}

async function nonStreamed(setup: NonStreamedSetup): Promise<LevelResult[]> {
  const clients = {
    direct: directClient(setup.regions[0]?.url ?? ''),
    portkey: portkeyClient(setup.portkey),
    backend: backendClient(setup.backend.url),
  };
  const routed = await checkPortkeyFallback(clients.portkey, setup.regions);
  log(`non-streamed: Portkey answered from ${routed.primary}, and from ${routed.fallback} with the first in an outage`);
  log('non-streamed: warming up the three paths');
  for (const client of Object.values(clients)) await closedLoop(client, 16, scale(300));
  const results: LevelResult[] = [];
  for (const level of LEVELS) {
    const l = await nonStreamedLevel(clients, setup, level);
    results.push(l);
    const side = (name: string, x: SideResult) =>
      `${name} ${x.rps.toFixed(0)} rps p50 ${ms(x.p50)} p99 ${ms(x.p99)} ms`;
    log(
      `non-streamed c=${l.concurrency}: ${side('direct', l.direct)} | ${side('Portkey', l.portkey)} | ` +
        `${side('backend', l.backend)} | CPU per request Portkey ${ms(l.portkeyCpuMsPerRequest)} / backend ` +
        `${ms(l.backendCpuMsPerRequest)} ms | failures ${l.direct.failures}/${l.portkey.failures}/${l.backend.failures}`,
    );
  }
  return results;
}

/** Starts Portkey and the backend over `regions`, runs the non-streamed levels, and stops what it started. */
async function nonStreamedPhase(regions: readonly SimulatorProcess[]): Promise<LevelResult[]> {
  const backend = await startBackendProcess({ settings: { CHAT_REGIONS: regionsSetting(regions) } });
  const portkey = await startPortkeyProcess(regions);
  try {
    return await nonStreamed({ regions, portkey, backend });
  } finally {
    await stopAll(portkey, backend);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming (realistic latency) and memory

function streamSide(
  outcomes: readonly StreamOutcome[],
  held?: { total: number[]; toProxy: number[]; toSocket: number[] },
  cpuMicros?: number,
): StreamSide {
  const allGaps = outcomes.flatMap((o) => gaps(o.events));
  const ttft = outcomes.filter((o) => o.ok).map((o) => o.ttftMs);
  return {
    streams: outcomes.length,
    failures: outcomes.filter((o) => !o.ok).length,
    chunks: outcomes.reduce((a, o) => a + o.events.length, 0),
    ttftP50: percentile(ttft, 50),
    ttftP99: percentile(ttft, 99),
    gapP50: percentile(allGaps, 50),
    gapP99: percentile(allGaps, 99),
    ...(held ? { held: held.total, heldToProxy: held.toProxy, heldToSocket: held.toSocket } : {}),
    ...(cpuMicros === undefined
      ? {}
      : {
          backendCpuMsPerChunk:
            cpuMicros /
            1000 /
            Math.max(
              1,
              outcomes.reduce((a, o) => a + o.events.length, 0),
            ),
        }),
  };
}

async function streamed(regions: readonly SimulatorProcess[], backend: BackendProcess): Promise<Results['streaming']> {
  const direct = directClient(regions[0]?.url ?? '');
  const through = backendClient(backend.url);
  await backend.setTap(true);
  await streamOnce(direct, 'warm-direct');
  await streamOnce(through, 'warm-backend');
  await backend.taps();

  const held = async (outcomes: readonly { id: string; outcome: StreamOutcome }[]) => {
    const taps = await backend.taps();
    const split = (point: 'proxy' | 'host' | undefined) =>
      outcomes.flatMap(({ id, outcome }) => {
        const upstream = taps[id]?.upstream ?? [];
        return holdTimes(point === undefined ? outcome.events : (taps[id]?.[point] ?? []), upstream);
      });
    return { total: split(undefined), toProxy: split('proxy'), toSocket: split('host') };
  };

  log(
    `streamed, one at a time: ${SEQUENTIAL_STREAMS} direct and ${SEQUENTIAL_STREAMS} through the backend, alternating`,
  );
  const seqDirect: StreamOutcome[] = [];
  const seqBackend: { id: string; outcome: StreamOutcome }[] = [];
  let seqCpu = 0;
  for (let i = 0; i < SEQUENTIAL_STREAMS; i++) {
    seqDirect.push(await streamOnce(direct, `seq-direct-${i}`));
    const id = `seq-backend-${i}`;
    const before = (await backend.stats()).cpuMicros;
    seqBackend.push({ id, outcome: await streamOnce(through, id) });
    seqCpu += (await backend.stats()).cpuMicros - before;
  }
  const sequential = {
    direct: streamSide(seqDirect),
    backend: streamSide(
      seqBackend.map((s) => s.outcome),
      await held(seqBackend),
      seqCpu,
    ),
  };

  log(`streamed, ${CONCURRENT_STREAMS} at once: direct, then through the backend`);
  const conDirect = await Promise.all(
    Array.from({ length: CONCURRENT_STREAMS }, (_, i) => streamOnce(direct, `con-direct-${i}`)),
  );
  const conCpuBefore = (await backend.stats()).cpuMicros;
  const conBackend = await Promise.all(
    Array.from({ length: CONCURRENT_STREAMS }, async (_, i) => {
      const id = `con-backend-${i}`;
      return { id, outcome: await streamOnce(through, id) };
    }),
  );
  const conCpu = (await backend.stats()).cpuMicros - conCpuBefore;
  const concurrent = {
    direct: streamSide(conDirect),
    backend: streamSide(
      conBackend.map((s) => s.outcome),
      await held(conBackend),
      conCpu,
    ),
  };
  await backend.setTap(false);
  for (const [name, r] of [
    ['one at a time', sequential],
    [`${CONCURRENT_STREAMS} at once`, concurrent],
  ] as const) {
    log(
      `streamed ${name}: TTFT p50 direct ${ms(r.direct.ttftP50)} / backend ${ms(r.backend.ttftP50)} ms, ` +
        `gap p50 ${ms(r.direct.gapP50)} / ${ms(r.backend.gapP50)} ms, held p50 ${ms(percentile(r.backend.held ?? [], 50))} ` +
        `p99 ${ms(percentile(r.backend.held ?? [], 99))} ms`,
    );
  }

  log(`memory: ${MEMORY_STREAMS} concurrent streams through the backend`);
  const idleRss = (await backend.stats()).rss;
  let peakRss = idleRss;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, (await backend.stats()).rss);
      await sleep(50);
    }
  })();
  const started = performance.now();
  const memoryOutcomes = await Promise.all(
    Array.from({ length: MEMORY_STREAMS }, (_, i) => streamOnce(through, `mem-${i}`)),
  );
  const memoryElapsed = performance.now() - started;
  sampling = false;
  await sampler;
  const afterRss = (await backend.stats()).rss;
  const memory = {
    streams: MEMORY_STREAMS,
    failures: memoryOutcomes.filter((o) => !o.ok).length,
    idleRssBytes: idleRss,
    peakRssBytes: peakRss,
    afterRssBytes: afterRss,
    elapsedMs: memoryElapsed,
    ttftP50: percentile(
      memoryOutcomes.map((o) => o.ttftMs),
      50,
    ),
  };
  log(
    `memory: idle ${(idleRss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB with ${MEMORY_STREAMS} streams ` +
      `(${memory.failures} failed, ${(memoryElapsed / 1000).toFixed(1)} s)`,
  );
  return { sequential, concurrent, concurrentStreams: CONCURRENT_STREAMS, memory };
}

// ---------------------------------------------------------------------------------------------------------------
// Failover under load

async function failover(): Promise<Results['failover']> {
  const [primary, secondary] = await startRegions('none');
  const backend = await startBackendProcess({
    settings: {
      CHAT_REGIONS: regionsSetting([primary, secondary]),
      CHAT_BREAKER_COOLDOWN_MS: String(FAILOVER.cooldownMs),
    },
  });
  const client = backendClient(backend.url);
  await closedLoop(client, 8, scale(200));
  log(
    `failover: ${FAILOVER.rps} requests/s for at least ${FAILOVER.durationMs / 1000} s; primary killed at ${FAILOVER.killAtMs / 1000} s, ` +
      `restarted at ${FAILOVER.restartAtMs / 1000} s (CHAT_BREAKER_COOLDOWN_MS=${FAILOVER.cooldownMs})`,
  );
  const samples: Promise<FailoverSample>[] = [];
  const started = performance.now();
  let killedAt = Number.NaN;
  let restartedAt = Number.NaN;
  let restartReadyAt = Number.NaN;
  const chaos = (async () => {
    await sleep(FAILOVER.killAtMs);
    killedAt = performance.now() - started;
    await primary.kill();
    log(`failover: primary killed at ${ms(killedAt / 1000)} s`);
    await sleep(Math.max(0, FAILOVER.restartAtMs - (performance.now() - started)));
    restartedAt = performance.now() - started;
    await primary.restart();
    restartReadyAt = performance.now() - started;
    log(`failover: primary restarted at ${ms(restartedAt / 1000)} s, listening at ${ms(restartReadyAt / 1000)} s`);
  })();
  // When an answer from the restarted primary came back (ms from start): traffic runs on a little past it.
  let primaryAnsweredAt = Number.NaN;
  const keepGoing = (elapsed: number) =>
    elapsed < FAILOVER.durationMs ||
    (elapsed < FAILOVER.maxDurationMs && !(elapsed >= primaryAnsweredAt + FAILOVER.tailMs));
  for (let i = 0; keepGoing(performance.now() - started); i++) {
    const due = (i * 1000) / FAILOVER.rps;
    const wait = due - (performance.now() - started);
    if (wait > 0) await sleep(wait);
    const at = performance.now() - started;
    samples.push(
      chatOnce(client).then((outcome: ChatOutcome) => {
        if (outcome.region === 'eastus2' && at >= restartReadyAt && Number.isNaN(primaryAnsweredAt))
          primaryAnsweredAt = performance.now() - started;
        return { ...outcome, at };
      }),
    );
  }
  const all = await Promise.all(samples);
  await chaos;
  await stopAll(backend, primary, secondary);

  const lost = all.filter((s) => !s.ok);
  // Back on the primary: the first request after the restart from which every later answer came from eastus2.
  let back = Number.NaN;
  for (let i = all.length - 1; i >= 0; i--) {
    const s = all[i];
    if (!s || s.at < restartedAt || s.region !== 'eastus2') break;
    back = s.at;
  }
  const window = (from: number, to: number) =>
    all.filter((s) => s.ok && s.at >= from && s.at < to).map((s) => s.latencyMs);
  const result: Results['failover'] = {
    ...FAILOVER,
    requests: all.length,
    lost: lost.length,
    lostErrors: [...new Set(lost.map((s) => s.error ?? ''))].slice(0, 5),
    killedAt,
    restartedAt,
    restartReadyAt,
    backOnPrimaryAt: back,
    servedBySecondary: all.filter((s) => s.region === 'swedencentral').length,
    p99Before: percentile(window(0, killedAt), 99),
    p99During: percentile(window(killedAt, Number.isNaN(back) ? Infinity : back), 99),
    p99After: percentile(window(Number.isNaN(back) ? Infinity : back, Infinity), 99),
    p50Before: percentile(window(0, killedAt), 50),
    maxDuring: Math.max(...window(killedAt, Number.isNaN(back) ? Infinity : back)),
    samples: all,
  };
  log(
    `failover: ${result.lost} of ${result.requests} lost; p99 before ${ms(result.p99Before)} / during ${ms(result.p99During)} / ` +
      `after ${ms(result.p99After)} ms; back on primary ${ms((back - restartReadyAt) / 1000)} s after it listened again`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------------

/** A phase run alone: its goal rows, why any was missed, and its section, to paste into RESULTS.md. */
function printPhase(goals: [string, string, string, boolean][], notes: string[], section: string[]): void {
  const rows = goals.map(
    ([name, target, measured, met]) => `| ${name} | ${target} | ${measured} | ${met ? '**met**' : '**missed**'} |`,
  );
  console.log(['', ...rows, '', ...notes, '', ...section].join('\n'));
}

/** `BENCH_ONLY=nonstreamed`: the non-streamed levels alone, on regions of their own, printed as a phase. */
async function nonStreamedOnly(): Promise<void> {
  const regions = await startRegions('none');
  const levels = await nonStreamedPhase(regions).finally(() => stopAll(...regions));
  printPhase(nonStreamedGoals(levels), portkeyNotes(levels), nonStreamedSection(levels));
}

/** `BENCH_ONLY=<phase>`: that phase alone, its rows printed to paste into RESULTS.md. */
const SINGLE_PHASES: Record<string, () => Promise<void>> = {
  failover: async () => {
    const fail = await failover();
    writeFileSync(path.join(RESULTS_DIR, 'failover.svg'), failoverChart(fail));
    log('wrote failover.svg (BENCH_ONLY=failover)');
  },
  'stream-failover': async () => {
    const streams = await streamFailover(log);
    printPhase(streamFailoverGoals(streams), [], streamFailoverSection(streams));
  },
  profile: async () => {
    const profile = await cpuAttribution({ log, scale, keepProfiles: process.env.BENCH_PROFILES });
    printPhase(profileGoals(profile), [], profileSection(profile));
  },
  nonstreamed: () => nonStreamedOnly(),
  streamed: async () => {
    const r = await streamedBench({ log, scale, quick: QUICK });
    printPhase(streamedGoals(r), [], streamedSection(r));
  },
  overload: async () => {
    const legs = await overloadBench({ log, quick: QUICK });
    printPhase(overloadGoals(legs), [], overloadSection(legs));
  },
  'token-count': async () => {
    const rows = await tokenCountBench({ log });
    printPhase(tokenCountGoals(rows), [], tokenCountSection(rows));
  },
  fairness: async () => {
    const sides = await fairnessBench({ log, quick: QUICK });
    printPhase(fairnessGoals(sides), [], fairnessSection(sides));
  },
  auth: async () => {
    const auth = await authOverhead({ log, scale });
    printPhase(authGoals(auth), authNotes(auth), authSection(auth));
  },
  conversations: async () => {
    const r = await conversationBench({ conversations: QUICK ? 20 : 200, log });
    const measured = `+${r.addedP50.toFixed(2)} ms (p50 ${r.conversation.p50.toFixed(2)} vs ${r.inline.p50.toFixed(2)} ms inline; p95 ${r.conversation.p95.toFixed(2)} vs ${r.inline.p95.toFixed(2)} ms; ${r.requests} requests a side)`;
    console.log(
      `\n| Added p50 latency, chat with a ${r.turns}-turn conversation vs the same messages inline (phase-only run) | < 3 ms | ${measured} | ${r.addedP50 < 3 ? '**met**' : '**missed**'} |`,
    );
  },
};

/** Every phase, then RESULTS.md and failover.svg. */
async function allPhases(): Promise<void> {
  const begun = performance.now();
  const loadAtStart = os.loadavg()[0] ?? 0;
  log('phase 1/9: cold start and import time');
  const quiet = await startRegions('none');
  const coldStart = await coldStartPhase(quiet);

  log('phase 2/9: non-streamed chat, direct vs through Portkey vs through the backend');
  const nonStreamed = await nonStreamedPhase(quiet);
  await stopAll(...quiet);

  log('phase 3/9: streamed chat at latency none, direct vs through Portkey vs through the backend');
  const streamedResult = await streamedBench({ log, scale, quick: QUICK });

  log('phase 4/9: streamed chat with realistic latency, and memory');
  const realistic = await startRegions('realistic');
  const backendB = await startBackendProcess({ settings: { CHAT_REGIONS: regionsSetting(realistic) } });
  const streaming = await streamed(realistic, backendB);
  await stopAll(backendB, ...realistic);

  log('phase 5/9: where one chat’s CPU goes (CPU profile of the backend)');
  const profile = await cpuAttribution({ log, scale });
  log('phase 6/9: failover under load');
  const fail = await failover();
  log('phase 7/9: failover under load, streamed');
  const streamFailoverResult = await streamFailover(log);
  log('phase 8/9: what sign-in and quotas add (token validation, quota check, end to end)');
  const auth = await authOverhead({ log, scale });
  log('phase 9/9: overload, load shedding on and off');
  const overload = await overloadBench({ log, quick: QUICK });

  const results: Results = {
    ...machine(),
    quick: QUICK,
    durationS: (performance.now() - begun) / 1000,
    loadAverage: [loadAtStart, os.loadavg()[0] ?? 0],
    ...{
      nonStreamed,
      streaming,
      coldStart,
      failover: fail,
      streamFailover: streamFailoverResult,
      streamed: streamedResult,
      auth,
      profile,
      overload,
    },
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'RESULTS.md'), renderResults(results));
  writeFileSync(path.join(RESULTS_DIR, 'failover.svg'), failoverChart(fail));
  log(
    `wrote ${path.relative(process.cwd(), RESULTS_DIR)}/RESULTS.md and failover.svg in ${results.durationS.toFixed(0)} s`,
  );
}

function machine() {
  return {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
  };
}

async function main(): Promise<void> {
  log(`${os.cpus().length} cores, Node ${process.version}${QUICK ? ' (BENCH_QUICK: a tenth of the requests)' : ''}`);
  if (ONLY === undefined || ONLY === '') return allPhases();
  const phase = SINGLE_PHASES[ONLY];
  if (!phase) throw new Error(`BENCH_ONLY=${ONLY}: not a phase (${Object.keys(SINGLE_PHASES).join(', ')})`);
  return phase();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
