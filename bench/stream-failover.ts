/**
 * The failover run for streams: streams through the backend at a steady rate while the primary
 * region's process is killed mid-run, so that streams in flight break after their first byte and the
 * backend continues them from the secondary. Measured: streams completed, the gap the client sees at the
 * switch, and whether each text equals the unbroken answer.
 */
import { backendClient, directClient, streamOnce, type StreamOutcome } from './load';
import { regionsSetting, startBackendProcess, startSimulatorProcess } from './processes';
import { median, sleep } from './stats';

/** Open-loop rate, when the primary is killed and restarted (ms from start), how long streams are started. */
export const STREAM_FAILOVER = {
  rps: 50,
  durationMs: 8_000,
  killAtMs: 3_000,
  restartAtMs: 6_000,
  cooldownMs: 2_000,
};

export interface StreamFailoverResult {
  readonly rps: number;
  readonly durationMs: number;
  readonly killAtMs: number;
  readonly restartAtMs: number;
  readonly cooldownMs: number;
  readonly streams: number;
  readonly completed: number;
  /** Completed streams whose text equals the unbroken answer. */
  readonly textEqual: number;
  /** Streams served in two or more parts (continued after a break). */
  readonly continued: number;
  /** For each continued stream, the gap the client saw between the last text of the first part and the next, ms. */
  readonly switchGaps: readonly number[];
  /** Median time to first token of the secondary, called directly with no load, ms. */
  readonly secondaryTtftMs: number;
  /**
   * Time to first token of the streams the secondary served whole while the primary was down (through the
   * backend, under the same load as the switches), ms: the fair yardstick for the gap at the switch.
   */
  readonly secondaryTtftUnderLoadMs: readonly number[];
  /** A few distinct errors of streams that did not complete. */
  readonly errors: readonly string[];
}

/** The gap at the switch of a continued stream: between the first part's last text and the next text, ms. */
export function switchGap(outcome: StreamOutcome): number | undefined {
  const boundary = outcome.parts?.[0]?.chars;
  if (boundary === undefined || (outcome.parts?.length ?? 0) < 2) return undefined;
  const index = outcome.events.findIndex((e) => e.chars > boundary);
  const before = outcome.events[index - 1];
  const after = outcome.events[index];
  return before && after ? after.at - before.at : undefined;
}

export async function streamFailover(log: (message: string) => void): Promise<StreamFailoverResult> {
  const run = STREAM_FAILOVER;
  const [primary, secondary] = await Promise.all([
    startSimulatorProcess({ region: 'eastus2', latency: 'realistic' }),
    startSimulatorProcess({ region: 'swedencentral', latency: 'realistic' }),
  ]);
  const backend = await startBackendProcess({
    settings: { CHAT_REGIONS: regionsSetting([primary, secondary]), CHAT_BREAKER_COOLDOWN_MS: String(run.cooldownMs) },
  });
  try {
    const client = backendClient(backend.url);
    const unbroken = (await streamOnce(client, 'stream-failover-reference')).text;
    const direct = directClient(secondary.url);
    const ttfts: number[] = [];
    for (let i = 0; i < 5; i++) ttfts.push((await streamOnce(direct, `secondary-ttft-${i}`)).ttftMs);
    log(
      `stream failover: ${run.rps} streams/s for ${run.durationMs / 1000} s (simulators at latency realistic); ` +
        `primary killed at ${run.killAtMs / 1000} s, restarted at ${run.restartAtMs / 1000} s`,
    );
    const started = performance.now();
    const chaos = (async () => {
      await sleep(run.killAtMs);
      await primary.kill();
      log(`stream failover: primary killed at ${((performance.now() - started) / 1000).toFixed(2)} s`);
      await sleep(Math.max(0, run.restartAtMs - (performance.now() - started)));
      await primary.restart();
    })();
    const pending: Promise<StreamOutcome & { at: number }>[] = [];
    for (let i = 0; (i * 1000) / run.rps < run.durationMs; i++) {
      const at = (i * 1000) / run.rps;
      const wait = at - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      pending.push(streamOnce(client, `stream-failover-${i}`).then((o) => ({ ...o, at })));
    }
    const outcomes = await Promise.all(pending);
    await chaos;
    const duringOutage = outcomes.filter(
      (o) => o.at >= run.killAtMs && o.at < run.restartAtMs && o.region === 'swedencentral' && o.parts === undefined,
    );
    return {
      ...summary(outcomes, unbroken, median(ttfts)),
      secondaryTtftUnderLoadMs: duringOutage.map((o) => o.ttftMs),
    };
  } finally {
    await Promise.all([backend.stop(), primary.stop(), secondary.stop()]);
  }
}

function summary(
  outcomes: readonly StreamOutcome[],
  unbroken: string,
  secondaryTtftMs: number,
): Omit<StreamFailoverResult, 'secondaryTtftUnderLoadMs'> {
  const completed = outcomes.filter((o) => o.ok && o.error === undefined);
  return {
    ...STREAM_FAILOVER,
    streams: outcomes.length,
    completed: completed.length,
    textEqual: completed.filter((o) => o.text === unbroken).length,
    continued: outcomes.filter((o) => (o.parts?.length ?? 0) > 1).length,
    switchGaps: outcomes.map(switchGap).filter((g): g is number => g !== undefined),
    secondaryTtftMs,
    errors: [...new Set(outcomes.map((o) => o.error).filter((e): e is string => e !== undefined))].slice(0, 5),
  };
}
