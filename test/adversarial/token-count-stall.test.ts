/**
 * Attack: one request whose text is slow to tokenize freezes the instance. js-tiktoken merges each run without
 * whitespace in time that grows with the square of its length, and the conversation service counted the new
 * message synchronously, before the quota was asked: 100,000 characters of `用户` held the event loop 33 s,
 * /api/health stalled 11-24 s, another user's chat got 503 after 23 s, and a user already over quota could do it
 * too (the 429 came after 19 s).
 *
 * The quota now comes first (a caller over it costs no tokenizer work), and a count is exact only within a budget
 * of work, in pieces that yield to the event loop (shared/tokens.ts). What is measured is order, not time: the
 * region in front of which the request is held learns of it only after the backend's own work on it is done, and
 * /api/health answers while the request is held there. Before the change, the request did not reach the region
 * within the test's timeout (the count alone took tens of seconds here).
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { chat, useQuotaStack } from './quota-stack';

/** Characters of `用户` in the attack: as much as the default body limit (256 KiB) takes, 3 bytes each. */
const ATTACK_CHARS = 80_000;
const attack = { messages: [{ role: 'user', content: '用户'.repeat(ATTACK_CHARS / 2) }], context: { max_tokens: 5 } };

/**
 * A TCP relay in front of a region that holds the first connection's bytes until `release()`: `arrived` resolves
 * when they reach it, so the backend is known to have finished its own work on that request.
 */
async function heldRegion(target: RunningSimulator) {
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const sockets = new Set<net.Socket>();
  let first = true;
  const server = net.createServer((client) => {
    sockets.add(client);
    if (!first) {
      // Only the attack's connection is held: later ones (the health check's probe of the region) pass at once.
      const upstream = net.connect(target.port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      return;
    }
    first = false;
    const held: Buffer[] = [];
    const hold = (data: Buffer) => {
      held.push(data);
      arrive();
    };
    client.on('data', hold);
    client.on('error', () => undefined);
    void released.then(() => {
      client.off('data', hold);
      const upstream = net.connect(target.port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      for (const data of held) upstream.write(data);
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrived,
    release,
    async close() {
      release();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let region: RunningSimulator;
let held: Awaited<ReturnType<typeof heldRegion>>;
beforeAll(async () => {
  region = await startSimulator({ port: 0, region: 'eastus2', latency: { firstTokenMs: 0, perTokenMs: 0 } });
  held = await heldRegion(region);
});
afterAll(async () => {
  await held?.close();
  await region?.close();
});

const stack = useQuotaStack(() => ({
  // One region, behind the relay: the request is held there until the test has asked for health.
  CHAT_REGIONS: JSON.stringify([
    { name: 'eastus2', endpoint: `${held.url}/`, deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' } },
  ]),
  CHAT_USER_TOKENS_PER_DAY: '100000000',
}));

async function health(): Promise<number> {
  return (await fetch(`${stack.api}/health`)).status;
}

describe('a message that is slow to tokenize', () => {
  it('reaches the region with the backend’s work on it done, and /api/health answers while it is in flight', async () => {
    const mallory = await stack.token('mallory-stall');
    const answer = chat(stack.api, mallory, attack);
    await held.arrived;
    expect(await health()).toBe(200);
    held.release();
    const outcome = await answer;
    expect(outcome.status).toBe(200);
    // Billed as the region counted it, whatever the backend estimated.
    expect(outcome.totalTokens).toBeGreaterThan(0);
  });
});
