/**
 * Two stamps behind a stand-in for Front Door's priority origin group (test/stand-ins/front-door.ts), with the
 * probe settings of the Bicep template, every time scaled down by {@link SCALE} so the run takes seconds: each stamp
 * a backend process of its own (`npm start`'s script, as Azure runs the app) with two simulated regions of its own.
 * Stamp 1's regions go down, then come back while Front Door sends it nothing: traffic must move to stamp 2 and back
 * to stamp 1 by the probes alone. The test asserts the routing; the times it measures are printed, scaled back up.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { useAzurite } from '../stand-ins/azurite';
import { FrontDoorStandIn, isHealthy, routeTo, type ProbeRound, type ProbeSettings } from '../stand-ins/front-door';
import { repoRoot } from '../transpile';
import { processSettings, startBackendProcess, stopBackendProcess, transpiledApp } from './backend-process';

/** The probe settings the template deploys (the interval is main.bicep's default). */
function bicepProbeSettings(): { intervalSeconds: number; sampleSize: number; successfulSamplesRequired: number } {
  const main = readFileSync(join(repoRoot, 'infra/main.bicep'), 'utf8');
  const origins = readFileSync(join(repoRoot, 'infra/modules/frontdoor-origins.bicep'), 'utf8');
  const number = (text: string, pattern: RegExp) => {
    const match = pattern.exec(text);
    if (!match?.[1]) throw new Error(`${String(pattern)} not found in the Bicep`);
    return Number(match[1]);
  };
  return {
    intervalSeconds: number(main, /param frontDoorProbeIntervalSeconds int = (\d+)/),
    sampleSize: number(origins, /sampleSize: (\d+)/),
    successfulSamplesRequired: number(origins, /successfulSamplesRequired: (\d+)/),
  };
}

const bicep = bicepProbeSettings();
/** Test time × SCALE = the time in Azure: a 20 s probe interval becomes 500 ms. */
const SCALE = 40;
const probe: ProbeSettings = {
  probePath: '/api/health',
  intervalMs: (bicep.intervalSeconds * 1_000) / SCALE,
  sampleSize: bicep.sampleSize,
  successfulSamplesRequired: bicep.successfulSamplesRequired,
};
/** The backend's defaults, scaled the same way: breaker cool-down 30 s, health check interval 15 s. */
const backendTimes = {
  CHAT_BREAKER_COOLDOWN_MS: String(30_000 / SCALE),
  CHAT_HEALTH_CHECK_INTERVAL_MS: String(15_000 / SCALE),
};
/** Probe rounds to wait for a move before calling it never (over 13 minutes in Azure at 20 s). */
const MAX_ROUNDS = 40;

const azurite = useAzurite();
let outDir = '';
const stamps: { name: string; url: string; child: ChildProcess; regions: RunningSimulator[] }[] = [];
let frontDoor: FrontDoorStandIn;

beforeAll(async () => {
  outDir = transpiledApp('front-door-');
  for (const name of ['stamp-1', 'stamp-2']) {
    const regions = [await startSimulator({ region: 'eastus2' }), await startSimulator({ region: 'swedencentral' })];
    const settings = processSettings([regions[0]!, regions[1]!], azurite.connectionString, backendTimes);
    const { url, child } = await startBackendProcess(outDir, settings);
    stamps.push({ name, url: url.replace(/\/api$/, ''), child, regions });
  }
  frontDoor = await FrontDoorStandIn.start(
    stamps.map((s, i) => ({ name: s.name, url: s.url, priority: i + 1 })),
    probe,
  );
}, 90_000);

afterAll(async () => {
  await frontDoor?.close();
  await Promise.all(stamps.map((s) => stopBackendProcess(s.child)));
  await Promise.all(stamps.flatMap((s) => s.regions.map((r) => r.close())));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A chat through Front Door: its status and the stamp that answered. */
async function chat(): Promise<{ status: number; origin: string | null }> {
  const response = await fetch(`${frontDoor.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': 'local-dev-key' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
  });
  await response.arrayBuffer();
  return { status: response.status, origin: response.headers.get('x-front-door-origin') };
}

/** Users chatting through Front Door: one chat per probe interval until stopped. */
function users(): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      // A failed chat is what users see before Front Door moves them; the probes decide, not this.
      await chat().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, probe.intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

function setFault(stamp: number, kind: 'outage' | 'none'): void {
  for (const region of stamps[stamp]!.regions) region.setFault({ kind });
}

/** Stamp 1's probe answers over the given rounds. */
const stampOneAnswers = (rounds: readonly ProbeRound[]) => rounds.map((r) => r.answers['stamp-1']);

const seconds = (ms: number) => `${((ms * SCALE) / 1_000).toFixed(0)} s`;

describe('the Front Door stand-in', () => {
  it.each<[boolean[], boolean]>([
    [[], false],
    [[true], false],
    [[true, true], true],
    [[true, true, false, false], true],
    [[true, false, false, false], false],
    [[false, false, true, true], true],
    // Only the last sampleSize count.
    [[true, true, true, false, false, false], false],
  ])('counts %o as healthy: %s (2 of the last 4)', (samples, healthy) => {
    expect(isHealthy(samples, { ...probe, sampleSize: 4, successfulSamplesRequired: 2 })).toBe(healthy);
  });

  it('routes to the healthy origin of the lowest priority, and to priority 1 when none is healthy', () => {
    const origins = [
      { name: 'b', url: 'http://b', priority: 2 },
      { name: 'a', url: 'http://a', priority: 1 },
    ];
    expect(routeTo(origins, { a: true, b: true }).name).toBe('a');
    expect(routeTo(origins, { a: false, b: true }).name).toBe('b');
    expect(routeTo(origins, { a: false, b: false }).name).toBe('a');
  });
});

describe('two stamps behind Front Door’s priority origin group', () => {
  it('move users to stamp 2 when stamp 1’s regions fail, and back once they recover, with no chat reaching stamp 1 meanwhile', async () => {
    const { sampleSize, successfulSamplesRequired: required } = probe;
    await frontDoor.untilRound((r) => r.healthy['stamp-1'] === true && r.healthy['stamp-2'] === true, MAX_ROUNDS);
    expect(await chat()).toEqual({ status: 200, origin: 'stamp-1' });

    const traffic = users();
    const down = performance.now();
    const downFrom = frontDoor.rounds.length;
    setFault(0, 'outage');
    const failover = await frontDoor.untilRound((r) => r.routeTo === 'stamp-2', MAX_ROUNDS);
    const servedAtFailover = frontDoor.served.length;
    const failedOver = performance.now();
    // Front Door moves once fewer than `required` of the last `sampleSize` probes answered 200: at least
    // sampleSize - required + 1 failures, each a 503 from the stamp (it answers, and says it cannot serve).
    // (Not "in a row": a chat of the users may hold a breaker's trial at the moment of a probe, which then
    // counts the region as able to serve, as it may be.)
    const window = stampOneAnswers(frontDoor.rounds.slice(failover.index - sampleSize + 1, failover.index + 1));
    expect(window.filter((a) => a === 503).length).toBeGreaterThanOrEqual(sampleSize - required + 1);
    expect(frontDoor.rounds.slice(0, downFrom).every((r) => r.routeTo === 'stamp-1')).toBe(true);
    expect(await chat()).toEqual({ status: 200, origin: 'stamp-2' });

    // Still down a while: stamp 1 keeps answering 503 (its breakers' trials fail), users stay on stamp 2.
    const stillDown = await frontDoor.untilRound((r) => r.index >= failover.index + sampleSize, MAX_ROUNDS);
    expect(stampOneAnswers(frontDoor.rounds.slice(failover.index, stillDown.index + 1)).every((a) => a === 503)).toBe(
      true,
    );

    const upFrom = frontDoor.rounds.length;
    const up = performance.now();
    setFault(0, 'none');
    const failback = await frontDoor.untilRound((r) => r.routeTo === 'stamp-1', MAX_ROUNDS);
    const failedBack = performance.now();
    await traffic.stop();
    // Front Door comes back after `required` good probes; until then every chat went to stamp 2.
    const afterRecovery = stampOneAnswers(frontDoor.rounds.slice(upFrom, failback.index + 1));
    expect(afterRecovery.slice(afterRecovery.indexOf(200))).toEqual(Array.from({ length: required }, () => 200));
    expect(frontDoor.served.slice(servedAtFailover).filter((origin) => origin === 'stamp-1')).toEqual([]);
    expect(await chat()).toEqual({ status: 200, origin: 'stamp-1' });

    // In Azure a probe takes milliseconds of its interval; here the machine's own delays are scaled up with the
    // rest, so the time is given both as probe rounds times the interval and as the wall time scaled.
    const firstAnswer = (from: number, status: number) =>
      stampOneAnswers(frontDoor.rounds.slice(from)).indexOf(status) + 1;
    const took = (rounds: number, ms: number) =>
      `${rounds} probe rounds ≈ ${rounds * bicep.intervalSeconds} s (wall time × ${SCALE}: ${seconds(ms)})`;
    console.info(
      `Front Door stand-in, probe every ${bicep.intervalSeconds} s, ${required} of the last ${sampleSize} must answer 200: ` +
        `failover ${took(failover.index - downFrom + 1, failedOver - down)}, ` +
        `the stamp's first 503 in round ${firstAnswer(downFrom, 503)}; ` +
        `failback ${took(failback.index - upFrom + 1, failedBack - up)}, its first 200 in round ${firstAnswer(upFrom, 200)}`,
    );
  }, 120_000);
});
