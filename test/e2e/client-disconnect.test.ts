/**
 * A client that goes away mid-answer, through the local host and the real @azure/functions HTTP proxy: the model
 * call stops within the chunk in flight. The library alone would read the answer to its end
 * (Azure/azure-functions-nodejs-library#294); shared/http/client-disconnect.ts is the workaround. Measured as
 * Azure bills it: the tokens the region generated after the client left, and the simulator's completion tokens
 * (`GET /_sim/stats`, which counts answers sent to their end). Before the workaround, 20 streams dropped after
 * their first chunk cost 800 completion tokens, as much as 20 full answers.
 *
 * A whole (non-streamed) answer comes in one piece after the model has written all of it (the simulator waits
 * `maxTokens x perTokenMs`, then sends it): there the measure is the region's connection, closed soon after the
 * client left and before a byte of the answer came, and no other region asked instead. Before the client's
 * signal reached the model call, the connection stayed open until the whole answer had come (2 s), every time.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { regionsSetting } from '../shared/two-regions';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

const errors: string[] = [];
const warnings: string[] = [];
const warned = new Set<() => void>();
const logger = {
  info: () => undefined,
  warn: (message: string) => {
    warnings.push(message);
    for (const wake of warned) wake();
  },
  error: (message: string) => errors.push(message),
};

/** Resolves once `count` warnings after the first `from` match `pattern`. */
function warnedOf(pattern: RegExp, from: number, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (warnings.slice(from).filter((w) => pattern.test(w)).length < count) return;
      warned.delete(check);
      resolve();
    };
    warned.add(check);
    check();
  });
}

const streams = 20;
const maxTokens = 40;
const perTokenMs = 50;
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }], context: { max_tokens: maxTokens } };

/** One request to the region, as the relay saw it on its connection. */
interface Upstream {
  /** Token chunks the region has sent for it so far. */
  tokens: number;
  /** Bytes the region has sent for it so far. */
  bytes: number;
  /** The region sent its answer to the end. */
  done: boolean;
  /** Its connection closed. */
  readonly closed: Promise<void>;
}

/** A TCP relay in front of a simulator: what the region sent for each request, and when its connection closed. */
async function relay(target: RunningSimulator) {
  const upstreams: Upstream[] = [];
  const requested = new Set<() => void>();
  const server = net.createServer((client) => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const onConnection: Upstream[] = [];
    const upstream = net.connect(target.port, '127.0.0.1');
    // The openai client's pool may open connections it never uses, and reuses the ones it keeps alive:
    // each request that starts on a connection counts.
    client.on('data', (data: Buffer) => {
      if (!/^[A-Z]+ \//.test(data.toString('latin1', 0, 16))) return;
      const seen: Upstream = { tokens: 0, bytes: 0, done: false, closed: connectionClosed };
      onConnection.push(seen);
      upstreams.push(seen);
      for (const wake of requested) wake();
    });
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      const seen = onConnection.at(-1);
      const text = data.toString();
      if (seen) {
        seen.bytes += data.length;
        seen.tokens += text.match(/"content":"[^"]/g)?.length ?? 0;
        seen.done ||= text.includes('data: [DONE]');
      }
      client.write(data);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      closed();
    };
    for (const socket of [client, upstream]) socket.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  /** Resolves with the next request (after `count` have come). */
  const request = (count: number) =>
    new Promise<Upstream>((resolve) => {
      const check = () => {
        const next = upstreams[count];
        if (next === undefined) return;
        requested.delete(check);
        resolve(next);
      };
      requested.add(check);
      check();
    });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, upstreams, server, request };
}

function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let guard: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    guard = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(guard));
}

describe('when clients disconnect through the Functions library', () => {
  let backend: Backend;
  let primary: RunningSimulator;
  let proxy: Awaited<ReturnType<typeof relay>>;
  /** The second region: the same simulator behind a relay of its own, so a failover to it shows. */
  let secondProxy: Awaited<ReturnType<typeof relay>>;
  beforeAll(async () => {
    primary = await startSimulator({ port: 0, region: 'eastus2', latency: { firstTokenMs: 0, perTokenMs } });
    proxy = await relay(primary);
    secondProxy = await relay(primary);
    backend = await startBackend({ CHAT_REGIONS: regionsSetting(proxy, secondProxy) }, { logger });
  });
  afterAll(async () => {
    await backend.close();
    await primary.close();
    proxy.server.close();
    secondProxy.server.close();
  });

  /** Starts a stream, reads its first chunk, leaves; resolves with the tokens the region sent after that. */
  async function tokensAfterLeaving(): Promise<number> {
    const client = new AbortController();
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'POST',
      signal: client.signal,
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify(story),
    });
    expect((await response.body?.getReader().read())?.done).toBe(false);
    const upstream = proxy.upstreams.at(-1);
    const atLeave = upstream?.tokens ?? 0;
    client.abort();
    // A full answer takes maxTokens x perTokenMs = 2 s: closing sooner than that is the point.
    await within(upstream?.closed ?? Promise.resolve(), (maxTokens * perTokenMs) / 2, 'the model call stopping');
    expect(upstream?.done).toBe(false);
    return (upstream?.tokens ?? 0) - atLeave;
  }

  it('stops each model call within the chunk in flight, with no completion tokens billed and no error logged', async () => {
    // Counted from here: the other tests of this file (in any order) use the same regions.
    const completionTokens = async () =>
      ((await (await fetch(`${primary.url}/_sim/stats`)).json()) as { completionTokens: number }).completionTokens;
    const [asked, billedBefore] = [proxy.upstreams.length, await completionTokens()];
    const after: number[] = [];
    for (let i = 0; i < streams; i++) after.push(await tokensAfterLeaving());

    expect(proxy.upstreams.length - asked).toBe(streams);
    // The chunk in flight when the client left, and one more at most while the close travels to the model.
    for (const tokens of after) expect(tokens).toBeLessThanOrEqual(2);
    expect((await completionTokens()) - billedBefore).toBe(0);
    // A client that left is not the backend's failure.
    expect(errors).toEqual([]);
  });

  /** Sends a whole (non-streamed) chat, leaves once the region has it; how its connection to the region ended. */
  async function leaveWholeAnswer(path: string, body: unknown) {
    const client = new AbortController();
    const next = proxy.request(proxy.upstreams.length);
    const answer = fetch(`${backend.host.url}${path}`, {
      method: 'POST',
      signal: client.signal,
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify(body),
    }).catch((error: unknown) => error);
    const upstream = await within(next, 5_000, 'the region getting the request');
    client.abort();
    await answer;
    // The whole answer would come after maxTokens x perTokenMs = 2 s: closing sooner than that is the point.
    await within(upstream.closed, (maxTokens * perTokenMs) / 2, 'the model call stopping');
    return { bytes: upstream.bytes };
  }

  it.each([
    ['/api/chat', story],
    ['/api/v1/chat/completions', { model: 'gpt-4o', messages: story.messages, max_tokens: maxTokens }],
    ['/api/v1/responses', { model: 'gpt-4o', input: 'Tell me a long story', max_output_tokens: maxTokens }],
  ])(
    'stops a whole answer on %s when its client leaves: the region is left before it answers, no other region is asked, a warning',
    async (path, body) => {
      const [asked, failedOver] = [proxy.upstreams.length, secondProxy.upstreams.length];
      const [before, from] = [errors.length, warnings.length];
      const ends = [];
      for (let i = 0; i < 5; i++) ends.push(await leaveWholeAnswer(path, body));

      // Closed before a byte of the answer came (measured: 1-9 ms after the client left; the guard allows 1 s).
      for (const end of ends) expect(end.bytes).toBe(0);
      // One request each, to the first region; none failed over to the second.
      expect(proxy.upstreams.length - asked).toBe(5);
      expect(secondProxy.upstreams.length).toBe(failedOver);
      expect(errors.length).toBe(before);
      await within(warnedOf(/499 client_closed/, from, 5), 2_000, 'a client_closed warning for each');
      // A client that left says nothing about the region: its breaker has seen no failure.
      const health = (await (await fetch(`${backend.host.url}/api/health`)).json()) as {
        regions: { name: string; state: string; consecutiveFailures: number; lastError?: unknown }[];
      };
      for (const region of health.regions) {
        expect(region).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
        expect(region.lastError).toBeUndefined();
      }
    },
  );
});
