/**
 * A client that goes away mid-answer, through the local host and the real @azure/functions HTTP proxy: the model
 * call stops within the chunk in flight. The library alone would read the answer to its end
 * (Azure/azure-functions-nodejs-library#294); shared/http/client-disconnect.ts is the workaround. Measured as
 * Azure bills it: the tokens the region generated after the client left, and the simulator's completion tokens
 * (`GET /_sim/stats`, which counts answers sent to their end). Before the workaround, 20 streams dropped after
 * their first chunk cost 800 completion tokens, as much as 20 full answers.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { regionsSetting } from '../shared/two-regions';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

const errors: string[] = [];
const logger = { info: () => undefined, warn: () => undefined, error: (message: string) => errors.push(message) };

const streams = 20;
const maxTokens = 40;
const perTokenMs = 50;
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }], context: { max_tokens: maxTokens } };

/** One connection to the region, as the relay saw it. */
interface Upstream {
  /** Token chunks the region has sent on it so far. */
  tokens: number;
  /** The region sent its answer to the end. */
  done: boolean;
  readonly closed: Promise<void>;
}

/** A TCP relay in front of a simulator: what the region sent on each connection that carried a request. */
async function relay(target: RunningSimulator) {
  const upstreams: Upstream[] = [];
  const server = net.createServer((client) => {
    let closed!: () => void;
    const seen: Upstream = { tokens: 0, done: false, closed: new Promise((resolve) => (closed = resolve)) };
    const upstream = net.connect(target.port, '127.0.0.1');
    // The openai client's pool may open connections it never uses: only those with a request count.
    client.once('data', () => upstreams.push(seen));
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      const text = data.toString();
      seen.tokens += text.match(/"content":"[^"]/g)?.length ?? 0;
      seen.done ||= text.includes('data: [DONE]');
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
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, upstreams, server };
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
  beforeAll(async () => {
    primary = await startSimulator({ port: 0, region: 'eastus2', latency: { firstTokenMs: 0, perTokenMs } });
    proxy = await relay(primary);
    backend = await startBackend({ CHAT_REGIONS: regionsSetting(proxy, primary) }, { logger });
  });
  afterAll(async () => {
    await backend.close();
    await primary.close();
    proxy.server.close();
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
    const after: number[] = [];
    for (let i = 0; i < streams; i++) after.push(await tokensAfterLeaving());

    expect(proxy.upstreams).toHaveLength(streams);
    // The chunk in flight when the client left, and one more at most while the close travels to the model.
    for (const tokens of after) expect(tokens).toBeLessThanOrEqual(2);
    const stats = (await (await fetch(`${primary.url}/_sim/stats`)).json()) as { completionTokens: number };
    expect(stats.completionTokens).toBe(0);
    // A client that left is not the backend's failure.
    expect(errors).toEqual([]);
  });
});
