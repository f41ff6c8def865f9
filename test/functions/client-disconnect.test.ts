/**
 * Client disconnect, the app's side. When whoever writes the response body cancels it, the stream handler's
 * generators return, the chat service's `finally` ends the upstream stream, and the upstream request is aborted.
 * @azure/functions 4.16.5 never cancels the body on its own (its HTTP proxy ignores the closed response:
 * Azure/azure-functions-nodejs-library#294), so shared/http/client-disconnect.ts returns it when the proxied
 * response closes; test/e2e/client-disconnect.test.ts measures the whole path through the real library.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { clientSignalOf, stopStreamsOnDisconnect, untilGone } from '../../shared/http/client-disconnect';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { invocation, jsonRequest } from './http';

const slow = { latency: { firstTokenMs: 0, perTokenMs: 20 } };
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }], context: { max_tokens: 400 } };

type Body = ConstructorParameters<typeof Response>[0];

describe('when the client goes away', () => {
  let regions: TwoRegions;
  beforeAll(async () => {
    regions = await startTwoRegions({ primary: slow });
  });
  afterAll(async () => {
    await regions.close();
  });

  /** The stream handler's answer, and the abort signal of each upstream request it made. */
  async function streamedAnswer() {
    const signals: AbortSignal[] = [];
    const chat = regions.service(
      {},
      {
        fetch: (input, init) => {
          if (init?.signal) signals.push(init.signal);
          return fetch(input, init);
        },
      },
    );
    const response = await createChatStreamHandler({ chat })(jsonRequest('/api/chat/stream', story), invocation());
    return { response, upstreamAborted: () => aborted(signals.at(-1)) };
  }

  it('aborts the upstream request when the response body is cancelled', async () => {
    const { response, upstreamAborted } = await streamedAnswer();
    // As the library wraps it: new Response(body), then reads the ReadableStream.
    const reader = new Response(response.body as unknown as Body).body?.getReader();
    expect((await reader?.read())?.done).toBe(false);
    await reader?.cancel();
    await upstreamAborted();
  });

  it('aborts the upstream request when the proxied response closes, though the library keeps reading', async () => {
    const { response, upstreamAborted } = await streamedAnswer();
    let left!: () => void;
    const gone = new Promise<void>((resolve) => (left = resolve));
    const body = untilGone(response.body as AsyncIterable<Uint8Array>, gone);
    // Read as sendProxyResponse does: to the end, whatever happened to the connection.
    const reader = new Response(body).body?.getReader();
    expect((await reader?.read())?.done).toBe(false);
    left();
    for (let chunk = await reader?.read(); chunk?.done === false; chunk = await reader?.read());
    await upstreamAborted();
  });
});

describe("a whole answer's client signal", () => {
  /** A server standing in for the library's HTTP proxy: each request names its invocation, as the host's do. */
  async function proxy(handle: (signal: AbortSignal | undefined, res: http.ServerResponse) => void) {
    stopStreamsOnDisconnect({ hook: { postInvocation: () => undefined } });
    const server = http.createServer((req, res) => {
      handle(clientSignalOf({ invocationId: String(req.headers['x-ms-invocation-id']) }).signal, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const send = (id: string) =>
      http.request({ port, host: '127.0.0.1', method: 'POST', headers: { 'x-ms-invocation-id': id }, agent: false });
    return { server, send };
  }

  it('aborts when the proxied connection closes before the answer is complete', async () => {
    let seen!: (signal: AbortSignal | undefined) => void;
    const handled = new Promise<AbortSignal | undefined>((resolve) => (seen = resolve));
    const { server, send } = await proxy((signal) => seen(signal));
    const request = send('inv-left');
    request.on('error', () => undefined);
    request.end();
    const signal = await handled;
    expect(signal?.aborted).toBe(false);
    request.destroy();
    await aborted(signal);
    server.close();
  });

  it('stays quiet for an answer sent whole, and is absent for an invocation the proxy never saw', async () => {
    let seen!: (signal: AbortSignal | undefined) => void;
    const handled = new Promise<AbortSignal | undefined>((resolve) => (seen = resolve));
    const { server, send } = await proxy((signal, res) => {
      res.once('close', () => seen(signal));
      res.end('{}');
    });
    const request = send('inv-whole');
    request.end();
    request.on('response', (res) => res.resume());
    expect((await handled)?.aborted).toBe(false);
    expect(clientSignalOf({ invocationId: 'inv-unknown' })).toEqual({});
    server.close();
  });
});

function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal === undefined) reject(new Error('no upstream request was made'));
    else if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve());
  });
}
