/**
 * A client that goes away mid-answer, through the local host and the real @azure/functions HTTP proxy.
 * Today the upstream answer runs to its end: the library's `sendProxyResponse` (src/http/httpProxy.ts)
 * writes every body chunk with `proxyRes.write(chunk)` without checking the result or listening for
 * `close`; a write to a destroyed response only returns false, so its `for await` over our body never
 * stops early and never cancels it (Azure/azure-functions-nodejs-library#294; no abort signal for
 * handlers either: #273). Our side would stop the upstream call if it did
 * (test/functions/client-disconnect.test.ts). This test fails, and the README's known limit can go,
 * the day the library stops reading after a disconnect.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { regionsSetting } from '../shared/two-regions';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

const slow = { latency: { firstTokenMs: 0, perTokenMs: 20 } };
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }], context: { max_tokens: 400 } };

/** A TCP relay in front of a simulator that tells when the upstream answer was sent to its end. */
async function relay(target: RunningSimulator) {
  let seen = '';
  let onDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, '127.0.0.1');
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      seen += data.toString();
      client.write(data);
      if (seen.includes('data: [DONE]')) onDone();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, done, server };
}

describe('when the client disconnects through the Functions library', () => {
  let backend: Backend;
  let primary: RunningSimulator;
  let proxy: Awaited<ReturnType<typeof relay>>;
  beforeAll(async () => {
    primary = await startSimulator({ port: 0, region: 'eastus2', ...slow });
    proxy = await relay(primary);
    backend = await startBackend({ CHAT_REGIONS: regionsSetting(proxy, primary) });
  });
  afterAll(async () => {
    await backend.close();
    await primary.close();
    proxy.server.close();
  });

  it('still lets the upstream answer run to its end (Azure/azure-functions-nodejs-library#294)', async () => {
    const client = new AbortController();
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'POST',
      signal: client.signal,
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify(story),
    });
    const reader = response.body?.getReader();
    expect((await reader?.read())?.done).toBe(false);
    client.abort();
    // Resolves only if the region sent its whole answer although nobody is listening any more.
    await proxy.done;
  });
});
