/**
 * Attack: a burst of 50 concurrent chats from one user against CHAT_USER_REQUESTS_PER_MINUTE=3. Before the change
 * 6 got through on one instance and 9 on two: under the burst a store call took longer than the 300 ms allowed,
 * and the instance switched to counts in its memory that started at 0. Now the store call is given the time Table
 * Storage may take, and an instance that does fall back goes on from the counts it last saw. At most 3 are
 * answered, on one instance and on two backend processes sharing one Azurite. The two processes reach Azurite
 * through a relay that delays each of its answers by 350 ms, as a slow moment of Table Storage would (it documents
 * no upper bound on latency): before the change every store call then timed out, and each process counted alone.
 */
import * as net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { startBackendProcess, stopBackendProcess, transpiledApp } from '../e2e/backend-process';
import { regionsSetting } from '../shared/two-regions';
import { chat, useQuotaStack, type Outcome } from './quota-stack';

const PER_MINUTE = 3;
const BURST = 50;
const settings = { CHAT_USER_REQUESTS_PER_MINUTE: String(PER_MINUTE), CHAT_USER_TOKENS_PER_DAY: '100000000' };
const hello = { messages: [{ role: 'user', content: 'Hello' }], context: { max_tokens: 5 } };
const stack = useQuotaStack(settings);

const minute = () => new Date().toISOString().slice(0, 16);

/** The burst's outcomes, sent all at once to `apis` in turn; again with a new user if it straddled a minute. */
async function burst(apis: () => readonly string[], token: (user: string) => Promise<string>): Promise<Outcome[]> {
  for (let run = 0; run < 3; run++) {
    const user = await token(`mallory-burst-${run}-${Date.now()}`);
    const started = minute();
    const list = apis();
    const outcomes = await Promise.all(
      Array.from({ length: BURST }, (_, i) => chat(list[i % list.length] ?? '', user, hello)),
    );
    if (minute() === started) return outcomes;
  }
  throw new Error('Three bursts in a row straddled a minute boundary');
}

function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.code ?? String(o.status)] = (counts[o.code ?? String(o.status)] ?? 0) + 1;
  return counts;
}

describe('a burst of 50 against 3 requests a minute', () => {
  it('answers at most 3 on one instance, and refuses the rest 429 user_quota_exceeded', async () => {
    const outcomes = await burst(
      () => [stack.api],
      (user) => stack.token(user),
    );
    const answered = outcomes.filter((o) => o.status === 200).length;
    expect(answered, JSON.stringify(tally(outcomes))).toBeLessThanOrEqual(PER_MINUTE);
    expect(answered).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.code === 'user_quota_exceeded').length).toBe(BURST - answered);
  });
});

/** A TCP relay to `port` that passes each chunk of the answers `delayMs` late (in order). */
async function slowRelay(port: number, delayMs: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => setTimeout(() => client.write(data), delayMs));
    upstream.on('end', () => setTimeout(() => client.end(), delayMs));
    for (const socket of [client, upstream]) socket.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a burst of 50 against 3 requests a minute, over two backend processes on one Azurite', () => {
  let relay: Awaited<ReturnType<typeof slowRelay>>;
  let outDir = '';
  let identity: RunningIdentityProvider;
  let regions: RunningSimulator[] = [];
  const backends: { url: string; child: ChildProcess }[] = [];

  beforeAll(async () => {
    outDir = transpiledApp('quota-burst-');
    identity = await startIdentityProvider({ port: 0 });
    regions = [await startSimulator({ region: 'eastus2' }), await startSimulator({ region: 'swedencentral' })];
    relay = await slowRelay(stack.azurite.port, 350);
    const env = {
      ...identity.backendSettings(),
      ...settings,
      CHAT_REGIONS: regionsSetting(regions[0]!, regions[1]!),
      CHAT_AUTH_MODE: 'api-key',
      AZURE_OPENAI_API_KEY: 'simulator-key',
      CHAT_STORAGE_CONNECTION_STRING: stack.azurite.connectionString.replace(
        `:${stack.azurite.port}/`,
        `:${relay.port}/`,
      ),
      PORT: '0',
      IDENTITY_PROVIDER_PORT: '0',
      // As in every test (vitest.config.mts): shedding reacts to this shared machine's load, not to the quota.
      CHAT_SHED_LAG_MS: '0',
      // The quota is under test: one user's burst is not cut short by the per-caller limit of requests in flight.
      CHAT_CALLER_MAX_IN_FLIGHT: '0',
    };
    backends.push(...(await Promise.all([startBackendProcess(outDir, env), startBackendProcess(outDir, env)])));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(backends.map(({ child }) => stopBackendProcess(child)));
    await Promise.all(regions.map((r) => r.close()));
    await identity?.close();
    await relay?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('answers at most 3 between them', async () => {
    const outcomes = await burst(
      () => backends.map((b) => b.url),
      (user) => identity.token(user),
    );
    const answered = outcomes.filter((o) => o.status === 200).length;
    expect(answered, JSON.stringify(tally(outcomes))).toBeLessThanOrEqual(PER_MINUTE);
    expect(answered).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.code === 'user_quota_exceeded').length).toBe(BURST - answered);
  }, 90_000);
});
