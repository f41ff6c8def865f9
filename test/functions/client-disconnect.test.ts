/**
 * Client disconnect. Our side is ready: when whoever writes the response body cancels it, the stream
 * handler's generators return, the chat service's `finally` ends the upstream stream, and the upstream
 * request is aborted. But @azure/functions 4.16.5 never cancels the body: its HTTP proxy
 * (`sendProxyResponse` in src/http/httpProxy.ts) writes every chunk with `proxyRes.write(chunk)` without
 * looking at the result or at `close`, and a write to a destroyed response only returns false, so the
 * `for await` over the body runs to its end (Azure/azure-functions-nodejs-library#294; no abort signal
 * either: #273). test/e2e/client-disconnect.test.ts pins that down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { invocation, jsonRequest } from './http';

const slow = { latency: { firstTokenMs: 0, perTokenMs: 20 } };
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }], context: { max_tokens: 400 } };

describe('when the response body is cancelled', () => {
  let regions: TwoRegions;
  beforeAll(async () => {
    regions = await startTwoRegions({ primary: slow });
  });
  afterAll(async () => {
    await regions.close();
  });

  it('aborts the upstream request', async () => {
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
    // As the library wraps it: new Response(body), then reads the ReadableStream.
    const reader = new Response(
      response.body as unknown as ConstructorParameters<typeof Response>[0],
    ).body?.getReader();
    expect((await reader?.read())?.done).toBe(false);
    await reader?.cancel();
    const upstream = signals.at(-1);
    await new Promise<void>((resolve) =>
      upstream?.aborted === true ? resolve() : upstream?.addEventListener('abort', () => resolve()),
    );
    expect(upstream?.aborted).toBe(true);
  });
});
