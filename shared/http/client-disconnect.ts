/**
 * A streamed answer stops when its client goes away, within the chunk in flight: tokens are money.
 *
 * Workaround for Azure/azure-functions-nodejs-library#294 (no abort signal for handlers either: #273). With
 * `enableHttpStream`, the Functions host forwards each request to the library's HTTP proxy server in the worker
 * process, and the library writes the handler's body to that proxied response with `proxyRes.write(chunk)`,
 * without looking at the result or at `close` (`sendProxyResponse`, src/http/httpProxy.ts). When the client
 * leaves, the host (or `npm start`'s local host) closes the proxied connection, and the write to a destroyed
 * response only returns false: the library reads the body to its end, and the model call runs to its end, billed.
 *
 * The disconnect does reach the worker process, as the proxied response's `close` event. This module listens for
 * it without touching the library: Node publishes every request an HTTP server starts on the diagnostics channel
 * `http.server.request.start` (Node 18.7+), and the library's proxy requests carry `x-ms-invocation-id`. A
 * postInvocation hook then wraps the handler's streamed body so that, once that response has closed before its
 * end, the body's iterator is returned: the stream handler's `finally` blocks run and abort the upstream call, as
 * when a body is cancelled (test/functions/client-disconnect.test.ts). The fix proposed upstream (stop writing and
 * cancel the body on `close`) is in local/host/README.md, "Upstream"; when it ships, this module can go.
 *
 * A whole (non-streamed) answer has no body to return while the model writes it: the handler is still waiting
 * for the model when the client leaves. For it, the same close aborts a signal the handler passes to the chat
 * service ({@link clientSignalOf}), which aborts the upstream call; the failover loop then stops (no other region,
 * no breaker failure) with `client_closed`, a warning (Azure/azure-functions-nodejs-library#273 asks for
 * `request.signal`; the fix proposed upstream sets it).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvocationContext, PostInvocationContext } from '@azure/functions';

const requestStartChannel = 'http.server.request.start';
const invocationIdHeader = 'x-ms-invocation-id';
/** A close nobody asked about is forgotten after this long, ms: longer than any HTTP invocation (230 s). */
const forgetAfterMs = 5 * 60_000;

/** One invocation's proxied response: `gone` resolves, and `signal` aborts, when it closed before it was complete. */
interface Watch {
  readonly gone: Promise<void>;
  readonly signal: AbortSignal;
}

/** Per invocation id, from the proxied request's start until its invocation's hook (or 5 minutes after a close). */
const disconnects = new Map<string, Watch>();

/** What this module needs of `app` from `@azure/functions`. */
export interface HookRegistry {
  readonly hook: { postInvocation(handler: (context: PostInvocationContext) => void): unknown };
}

let watching = false;

/** Call once, at start-up (shared/functions-app.ts does): watches the proxy's responses and wraps streamed bodies. */
export function stopStreamsOnDisconnect(app: HookRegistry): void {
  if (watching) return;
  watching = true;
  diagnosticsChannel.subscribe(requestStartChannel, watchProxiedResponse);
  app.hook.postInvocation((context) => {
    const watch = disconnects.get(context.invocationContext.invocationId);
    disconnects.delete(context.invocationContext.invocationId);
    const result = context.result;
    if (watch === undefined || !isPlainObject(result) || !isAsyncIterable(result.body)) return;
    context.result = { ...result, body: untilGone(result.body, watch.gone) };
  });
}

/**
 * `{ signal }`, aborted when the client of this invocation goes away before its answer is complete, for the
 * chat service's request; `{}` when the request did not come through the library's HTTP proxy (a test calling
 * the handler, HTTP streaming off).
 */
export function clientSignalOf(context: Pick<InvocationContext, 'invocationId'>): { signal?: AbortSignal } {
  const watch = disconnects.get(context.invocationId);
  return watch === undefined ? {} : { signal: watch.signal };
}

function watchProxiedResponse(message: unknown): void {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const id = request.headers[invocationIdHeader];
  if (typeof id !== 'string') return;
  let left!: () => void;
  const client = new AbortController();
  const watch: Watch = { gone: new Promise<void>((resolve) => (left = resolve)), signal: client.signal };
  disconnects.set(id, watch);
  const forget = () => {
    if (disconnects.get(id) === watch) disconnects.delete(id);
  };
  response.once('close', () => {
    // A response that ended whole needs no hook (and is not the proxy's: it answers after the hook has run).
    if (response.writableFinished) return forget();
    client.abort(new Error('The client closed the connection.'));
    left();
    setTimeout(forget, forgetAfterMs).unref();
  });
}

const stop = Symbol('client gone');

/**
 * `body`, ended when `gone` resolves. The body's own iterator is then returned without waiting: an async
 * generator runs its `finally` as soon as the chunk it is waiting for arrives, so the upstream call is aborted
 * within that chunk. A consumer that stops early returns the body too.
 */
export async function* untilGone<T>(body: AsyncIterable<T>, gone: Promise<void>): AsyncGenerator<T> {
  const iterator = body[Symbol.asyncIterator]();
  const stopped = gone.then((): typeof stop => stop);
  let finished = false;
  try {
    for (;;) {
      const next = iterator.next();
      const step = await Promise.race([next, stopped]);
      if (step === stop) {
        next.catch(() => undefined); // settles after the return below; nobody needs its value
        return;
      }
      if (step.done === true) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
