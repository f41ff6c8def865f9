/**
 * `BENCH_ONLY=streamed`: streamed chat at the speed of the wire, direct to the simulator, through Portkey and
 * through the backend. Simulators at latency `none` answer streams of at least 64 tokens; per concurrency,
 * closed loops of the official `openai` client (`stream: true`) run each side in halves, interleaved (direct,
 * Portkey, backend, backend, Portkey, direct), with the CPU of Portkey's and the backend's process read around
 * each of their halves over the bench's IPC channel. The backend's time held per chunk comes from a shorter
 * tapped leg after the measured ones (the taps cost CPU). Then memory per open idle stream: streams opened
 * through the backend against regions that send one chunk and then stay silent (the simulator's `stall`
 * fault), and the backend's resident set and heap read before and with them open.
 */
import type OpenAI from 'openai';
import { backendClient, directClient, holdTimes, interleavedSides, MODEL, portkeyClient, streamOnce } from './load';
import { startPortkeyProcess, PORTKEY_VERSION } from './portkey';
import {
  regionsSetting,
  setSimulatorFault,
  startBackendProcess,
  startSimulatorProcess,
  type BackendProcess,
  type SimulatorProcess,
} from './processes';
import type { GoalRow } from './report';
import { ms, percentile, sleep } from './stats';

/** Tokens every streamed answer has at least (the simulator ends it on a whole sentence). */
export const STREAM_TOKENS = 64;
/** CPU per chunk the backend may spend (app and library), µs. */
const CPU_PER_CHUNK_GOAL_MICROS = 20;
/** Streamed throughput the backend must reach, as a share of the direct call's. */
const THROUGHPUT_GOAL = 0.8;

/** What one side of one level saw, over one half or (merged) both. */
export interface StreamLeg {
  readonly streams: number;
  readonly failures: number;
  /** Chunks with answer text that reached the client. */
  readonly chunks: number;
  readonly elapsedMs: number;
  /** A few distinct error messages of failed streams, as the client saw them. */
  readonly errors: readonly string[];
}

export interface StreamedLevel {
  readonly concurrency: number;
  readonly direct: StreamLeg;
  readonly portkey: StreamLeg;
  readonly backend: StreamLeg;
  /** CPU time (user + system) of each process over its halves, µs. */
  readonly backendCpuMicros: number;
  readonly portkeyCpuMicros: number;
  /** Per chunk of the tapped leg: arrival from the region to arrival at the client, ms. */
  readonly heldMs: readonly number[];
}

export interface IdleStreamsMemory {
  /** Streams asked for, and those that delivered their first chunk and stayed open. */
  readonly streams: number;
  readonly open: number;
  readonly rssBefore: number;
  readonly rssOpen: number;
  readonly heapBefore: number;
  readonly heapOpen: number;
  readonly errors: readonly string[];
}

export interface StreamedResult {
  readonly tokens: number;
  readonly levels: readonly StreamedLevel[];
  readonly idle: IdleStreamsMemory;
}

/** One side's halves as one: counts and times summed, the first few distinct errors kept. */
export function mergeStreamLegs(parts: readonly StreamLeg[]): StreamLeg {
  const sum = (pick: (p: StreamLeg) => number) => parts.reduce((a, p) => a + pick(p), 0);
  return {
    streams: sum((p) => p.streams),
    failures: sum((p) => p.failures),
    chunks: sum((p) => p.chunks),
    elapsedMs: sum((p) => p.elapsedMs),
    errors: [...new Set(parts.flatMap((p) => p.errors))].slice(0, 3),
  };
}

/** Completed streams per second. */
export const streamsPerSecond = (leg: StreamLeg): number => ((leg.streams - leg.failures) / leg.elapsedMs) * 1000;
/** Chunks reaching the client per second. */
export const chunksPerSecond = (leg: StreamLeg): number => (leg.chunks / leg.elapsedMs) * 1000;
/** CPU per chunk passed on, µs (NaN when nothing was passed on). */
export const cpuPerChunkMicros = (cpuMicros: number, leg: StreamLeg): number =>
  leg.chunks > 0 ? cpuMicros / leg.chunks : Number.NaN;
/** Memory per open idle stream, bytes (NaN when none was open). */
export const perIdleStream = (before: number, open: number, streams: number): number =>
  streams > 0 ? (open - before) / streams : Number.NaN;

const kib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : 'n/a');
const micros = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} µs` : 'n/a');

/** The streamed goals: throughput against the direct call, and CPU per chunk, at concurrency 16 and 64. */
export function streamedGoals(r: StreamedResult): GoalRow[] {
  const at = (c: number) => r.levels.find((l) => l.concurrency === c);
  const ratio = (c: number) => {
    const l = at(c);
    return l ? streamsPerSecond(l.backend) / streamsPerSecond(l.direct) : Number.NaN;
  };
  const cpu = (c: number) => {
    const l = at(c);
    return l ? cpuPerChunkMicros(l.backendCpuMicros, l.backend) : Number.NaN;
  };
  const throughput = (c: number) => {
    const l = at(c);
    return l
      ? `c=${c}: ${ratio(c).toFixed(2)}× (backend ${streamsPerSecond(l.backend).toFixed(0)}, direct ` +
          `${streamsPerSecond(l.direct).toFixed(0)} streams/s)`
      : `c=${c}: n/a`;
  };
  return [
    [
      `Streamed throughput (answers of ≥ ${r.tokens} tokens) vs the direct call at concurrency 16 and 64`,
      `≥ ${THROUGHPUT_GOAL}×`,
      `${throughput(16)}; ${throughput(64)}`,
      ratio(16) >= THROUGHPUT_GOAL && ratio(64) >= THROUGHPUT_GOAL,
    ],
    [
      'Backend CPU per streamed chunk (app and library) at concurrency 16 and 64',
      `≤ ${CPU_PER_CHUNK_GOAL_MICROS} µs`,
      `c=16: ${micros(cpu(16))}; c=64: ${micros(cpu(64))}`,
      cpu(16) <= CPU_PER_CHUNK_GOAL_MICROS && cpu(64) <= CPU_PER_CHUNK_GOAL_MICROS,
    ],
  ];
}

/** The streamed section of RESULTS.md: per level, the three sides; then memory per open idle stream. */
export function streamedSection(r: StreamedResult): string[] {
  const row = (l: StreamedLevel, side: 'direct' | 'portkey' | 'backend') => {
    const leg = l[side];
    const cpu = side === 'backend' ? l.backendCpuMicros : side === 'portkey' ? l.portkeyCpuMicros : Number.NaN;
    const perChunk = cpuPerChunkMicros(cpu, leg);
    const held = side === 'backend' ? `${ms(percentile(l.heldMs, 50))} / ${ms(percentile(l.heldMs, 99))} ms` : '–';
    const name = side === 'portkey' ? `Portkey ${PORTKEY_VERSION}` : side;
    return (
      `| ${l.concurrency} | ${name} | ${leg.streams} | ${leg.failures} | ${streamsPerSecond(leg).toFixed(0)} | ` +
      `${(streamsPerSecond(leg) / streamsPerSecond(l.direct)).toFixed(2)} | ${chunksPerSecond(leg).toFixed(0)} | ` +
      `${side === 'direct' ? '–' : micros(perChunk)} | ` +
      `${side === 'direct' || !(perChunk > 0) ? '–' : (1e6 / perChunk).toFixed(0)} | ${held} |`
    );
  };
  const i = r.idle;
  const errors = r.levels.flatMap((l) =>
    (['direct', 'portkey', 'backend'] as const)
      .filter((side) => l[side].errors.length > 0)
      .map((side) => `c=${l.concurrency} ${side}: ${l[side].errors.map((e) => `\`${e}\``).join(', ')}`),
  );
  return [
    '## Streamed chat at the speed of the wire: direct, through Portkey, through the backend',
    '',
    `Simulator latency preset \`none\`, answers of at least ${r.tokens} tokens (the simulator ends them on a whole ` +
      'sentence; chunks/s over streams/s gives the chunks per stream), `stream: true` with the official `openai` ' +
      'client. Closed loop: each of *c* workers opens its next stream when its last has ended. The three sides run in ' +
      'halves, interleaved (direct, Portkey, backend, backend, Portkey, direct); Portkey with the same fallback config ' +
      'as in the non-streamed levels. CPU per chunk: CPU time of that process over its halves divided by the chunks ' +
      'with answer text that reached the client; chunks per CPU-second is its inverse. Held per chunk (p50 / p99): ' +
      'arrival from the region to arrival at the client, from a shorter tapped leg after the measured ones. A failed ' +
      'stream is one that ended without answer text or with an error.',
    '',
    '| Concurrency | Side | Streams | Failures | Streams/s | Ratio to direct | Chunks/s | CPU per chunk | Chunks per CPU-second | Held per chunk p50 / p99 |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.levels.flatMap((l) => [row(l, 'direct'), row(l, 'portkey'), row(l, 'backend')]),
    '',
    ...(errors.length > 0 ? [`Errors of failed streams, as the client saw them: ${errors.join('; ')}.`, ''] : []),
    `Memory per open idle stream (Flex Consumption bills memory-time): ${i.open} of ${i.streams} streams opened ` +
      'through the backend against regions that send one chunk and then stay silent (the simulator’s `stall` fault), ' +
      `held open together: resident set ${kib(perIdleStream(i.rssBefore, i.rssOpen, i.open))} per stream ` +
      `(${(i.rssBefore / 2 ** 20).toFixed(0)} → ${(i.rssOpen / 2 ** 20).toFixed(0)} MiB), V8 heap ` +
      `${kib(perIdleStream(i.heapBefore, i.heapOpen, i.open))} per stream ` +
      `(${(i.heapBefore / 2 ** 20).toFixed(1)} → ${(i.heapOpen / 2 ** 20).toFixed(1)} MiB).` +
      (i.errors.length > 0 ? ` Streams that did not open: ${i.errors.map((e) => `\`${e}\``).join(', ')}.` : ''),
    '',
  ];
}

// ---------------------------------------------------------------------------------------------------------------

/** `streams` streamed chats, `concurrency` at a time; each stream's `x-request-id` starts with `prefix`. */
async function streamLoop(client: OpenAI, concurrency: number, streams: number, prefix: string): Promise<StreamLeg> {
  let issued = 0;
  let failures = 0;
  let chunks = 0;
  const errors = new Set<string>();
  const started = performance.now();
  const worker = async () => {
    while (issued < streams) {
      const outcome = await streamOnce(client, `${prefix}-${issued++}`);
      chunks += outcome.events.length;
      if (!outcome.ok) {
        failures++;
        if (errors.size < 3) errors.add(outcome.error ?? 'no answer text');
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { streams, failures, chunks, elapsedMs: performance.now() - started, errors: [...errors] };
}

/** Opens `count` streams through the backend, waits for each one's first chunk, and reads its memory with them open. */
async function idleStreamsMemory(
  client: OpenAI,
  backend: BackendProcess,
  regions: readonly SimulatorProcess[],
  count: number,
): Promise<IdleStreamsMemory> {
  for (const region of regions) await setSimulatorFault(region, { kind: 'stall', afterChunks: 1 });
  const before = await backend.stats();
  const controllers: AbortController[] = [];
  const errors = new Set<string>();
  const opened = await Promise.all(
    Array.from({ length: count }, async () => {
      const controller = new AbortController();
      controllers.push(controller);
      try {
        const stream = await client.chat.completions.create(
          { model: MODEL, messages: [{ role: 'user', content: 'Hold this stream open.' }], stream: true },
          { signal: controller.signal },
        );
        const iterator = stream[Symbol.asyncIterator]();
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          if ((next.value.choices[0]?.delta.content ?? '') !== '') return true;
        }
        errors.add('ended before its first chunk');
      } catch (error) {
        errors.add(error instanceof Error ? error.message : String(error));
      }
      return false;
    }),
  );
  // Let whatever each open stream allocates on its first chunk settle before reading.
  await sleep(500);
  const open = await backend.stats();
  for (const controller of controllers) controller.abort();
  for (const region of regions) await setSimulatorFault(region, { kind: 'none' });
  return {
    streams: count,
    open: opened.filter(Boolean).length,
    rssBefore: before.rss,
    rssOpen: open.rss,
    heapBefore: before.heapUsed,
    heapOpen: open.heapUsed,
    errors: [...errors].slice(0, 3),
  };
}

/** Runs the streamed levels and the idle-stream memory reading on processes of their own, and stops them. */
export async function streamedBench(options: {
  readonly log: (message: string) => void;
  readonly scale: (n: number) => number;
  readonly quick: boolean;
}): Promise<StreamedResult> {
  const { log, scale } = options;
  const regions = await Promise.all(
    ['eastus2', 'swedencentral'].map((region) =>
      startSimulatorProcess({ region, latency: 'none', answerTokens: STREAM_TOKENS }),
    ),
  );
  const stopped: { stop(): Promise<void> }[] = [...regions];
  try {
    const backend = await startBackendProcess({
      // A stalled stream would otherwise be continued from the other region after 20 s; the idle reading needs it open.
      settings: { CHAT_REGIONS: regionsSetting(regions), CHAT_STREAM_IDLE_TIMEOUT_MS: '120000' },
    });
    stopped.push(backend);
    const portkey = await startPortkeyProcess(regions);
    stopped.push(portkey);
    const clients = {
      direct: directClient(regions[0]?.url ?? ''),
      portkey: portkeyClient(portkey),
      backend: backendClient(backend.url),
    };
    const processes = { portkey, backend };
    log('streamed: warming up the three paths');
    for (const [side, client] of Object.entries(clients)) await streamLoop(client, 16, scale(200), `warm-${side}`);

    const levels: StreamedLevel[] = [];
    for (const level of [
      { concurrency: 16, streams: scale(1000) },
      { concurrency: 64, streams: scale(2000) },
    ]) {
      const half = Math.ceil(level.streams / 2);
      const cpu = { portkey: 0, backend: 0 };
      const sides = await interleavedSides(['direct', 'portkey', 'backend'] as const, async (side) => {
        const prefix = `c${level.concurrency}-${side}`;
        if (side === 'direct') return streamLoop(clients.direct, level.concurrency, half, prefix);
        const before = (await processes[side].stats()).cpuMicros;
        const leg = await streamLoop(clients[side], level.concurrency, half, prefix);
        cpu[side] += (await processes[side].stats()).cpuMicros - before;
        return leg;
      });
      await backend.setTap(true);
      const tappedIds = Array.from({ length: scale(160) }, (_, i) => `held-c${level.concurrency}-${i}`);
      const tapped: { id: string; events: Awaited<ReturnType<typeof streamOnce>>['events'] }[] = [];
      for (let i = 0; i < tappedIds.length; i += level.concurrency) {
        const batch = tappedIds.slice(i, i + level.concurrency);
        const outcomes = await Promise.all(batch.map((id) => streamOnce(clients.backend, id)));
        outcomes.forEach((o, j) => tapped.push({ id: batch[j] ?? '', events: o.events }));
      }
      const taps = await backend.taps();
      await backend.setTap(false);
      const l: StreamedLevel = {
        concurrency: level.concurrency,
        direct: mergeStreamLegs(sides.direct),
        portkey: mergeStreamLegs(sides.portkey),
        backend: mergeStreamLegs(sides.backend),
        backendCpuMicros: cpu.backend,
        portkeyCpuMicros: cpu.portkey,
        heldMs: tapped.flatMap(({ id, events }) => holdTimes(events, taps[id]?.upstream ?? [])),
      };
      levels.push(l);
      const side = (name: string, leg: StreamLeg) =>
        `${name} ${streamsPerSecond(leg).toFixed(0)} streams/s ${chunksPerSecond(leg).toFixed(0)} chunks/s (${leg.failures} failed)`;
      log(
        `streamed c=${l.concurrency}: ${side('direct', l.direct)} | ${side('Portkey', l.portkey)} | ${side('backend', l.backend)} | ` +
          `backend CPU per chunk ${micros(cpuPerChunkMicros(l.backendCpuMicros, l.backend))}, held p50 ${ms(percentile(l.heldMs, 50))} ms`,
      );
    }

    const count = options.quick ? 64 : 256;
    log(`streamed: memory with ${count} idle streams open through the backend`);
    const idle = await idleStreamsMemory(clients.backend, backend, regions, count);
    log(
      `streamed: ${idle.open} idle streams open, RSS ${kib(perIdleStream(idle.rssBefore, idle.rssOpen, idle.open))} and ` +
        `heap ${kib(perIdleStream(idle.heapBefore, idle.heapOpen, idle.open))} per stream`,
    );
    return { tokens: STREAM_TOKENS, levels, idle };
  } finally {
    await Promise.all(stopped.map((s) => s.stop()));
  }
}
