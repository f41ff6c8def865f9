/**
 * Client disconnect, the app's side. When whoever writes the response body cancels it, the stream handler's
 * generators return, the chat service's `finally` ends the upstream stream, and the upstream request is aborted.
 * @azure/functions 4.16.5 never cancels the body on its own (its HTTP proxy ignores the closed response:
 * Azure/azure-functions-nodejs-library#294), so shared/http/client-disconnect.ts returns it when the proxied
 * response closes; test/e2e/client-disconnect.test.ts measures the whole path through the real library.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { untilGone } from '../../shared/http/client-disconnect';
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

function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal === undefined) reject(new Error('no upstream request was made'));
    else if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve());
  });
}
