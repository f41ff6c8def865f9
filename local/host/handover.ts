import diagnosticsChannel from 'node:diagnostics_channel';
import type http from 'node:http';
import { answerInvocationFailure } from './answers';
import type { HeaderMap } from './cors';
import { closeUnlessDrainable } from './requestBody';
import type { ForwardOptions, ForwardResult } from './streaming';

const invocationIdHeader = 'x-ms-invocation-id';
/** What Node publishes when one of its HTTP servers starts a request (the app's disconnect watch listens). */
const requestStart = diagnosticsChannel.channel('http.server.request.start');

/**
 * HTTP streaming without the loopback hop: the client's own request and response are handed to the library's
 * proxy server in this process, as if they had arrived on its port. The library pairs them with the invocation by
 * `x-ms-invocation-id`, reads the body from the client's request and writes the answer to the client's response.
 *
 * Why: the hop (a second HTTP client and server in the same process, a socket pair, every chunk parsed and
 * written twice) cost the local host about as much CPU as the whole app (bench/results/RESULTS.md, "Where one
 * chat's CPU goes"). In Azure the hop is the Functions host's, in another process; this host only has to give
 * the library what the hop gave it: a request with the invocation id and `x-forwarded-host`/`-proto` headers, and
 * a response. The library's own server code is not replaced, only its socket: the request is emitted on the
 * server object (the one `libraryProxy.ts` finds) and announced on Node's `http.server.request.start` channel, as
 * Node does for a request on a socket, so the app's disconnect watch (shared/http/client-disconnect.ts) sees it.
 *
 * Everything the host guarantees for a client still holds, because it is the client's own connection: limits
 * and timeouts watch this request; an answer given before the body was read drains a small body or closes the
 * connection (`closeUnlessDrainable`, run just before the answer's headers go out); a client that leaves ends
 * the library's request stream (`aborted`) and closes the response the library writes to.
 */
export async function handOverToLibrary(
  options: ForwardOptions & { readonly server: http.Server },
): Promise<ForwardResult> {
  const { req, res } = options;
  const resClosed = new Promise<void>((resolve) => res.once('close', resolve));
  // A copy: the invocation's own headers (trigger metadata) were taken from the original object.
  req.headers = {
    ...req.headers,
    [invocationIdHeader]: options.invocationId,
    'x-forwarded-host': req.headers.host ?? 'localhost',
    'x-forwarded-proto': 'http',
  };
  beforeHeadersGoOut(res, options.extraHeaders, () => closeUnlessDrainable(res, options.limits));
  lateWritesGoNowhere(res);
  // A response closed before the body was all read, on a connection that is ending (the host's 408, a client
  // gone): the library's request stream ends in the error a dropped connection gives, so the app stops waiting
  // for the body. On a connection kept alive (a small body drained after an early answer) the request is left be:
  // destroying it would close the connection under the client's next request.
  res.once('close', () => {
    const ending = !res.shouldKeepAlive || (req.socket?.destroyed ?? true) || req.socket.writableEnded;
    if (!req.complete && ending) req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  });
  if (requestStart.hasSubscribers)
    requestStart.publish({ request: req, response: res, socket: req.socket, server: options.server });
  options.server.emit('request', req, res);

  let outcome;
  try {
    outcome = await options.invoke();
  } catch (error) {
    // The library answers nothing for a failed invocation; what it had set on the response is not the host's.
    if (!res.headersSent) for (const name of res.getHeaderNames()) res.removeHeader(name);
    answerInvocationFailure(res, {
      requestId: options.requestId,
      headers: options.extraHeaders,
      limits: options.limits,
    });
    return { error };
  }
  if (!res.headersSent && !res.writableEnded && (outcome.result === undefined || outcome.result === null)) {
    // The handler returned no response, so the library will not write one.
    if (!res.destroyed) res.writeHead(204).end();
    return { error: undefined };
  }
  await resClosed;
  return { error: undefined };
}

/**
 * Runs once, just before the response's headers are written, whoever writes them (the library, or the host's own
 * answer): the host's headers (CORS) are added and `prepare` runs. The library's `x-ms-invocation-id` stays on the
 * answer, as the Functions host passes it to clients.
 */
function beforeHeadersGoOut(res: http.ServerResponse, extraHeaders: HeaderMap, prepare: () => void): void {
  // Wrapped on this one response and called with it as `this`, as the original would be.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const writeHead = res.writeHead;
  res.writeHead = function (this: http.ServerResponse, ...args: Parameters<typeof writeHead>) {
    res.writeHead = writeHead;
    for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
    prepare();
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

/**
 * The library answers on the response it was handed even when the host has answered already (a body that stopped
 * arriving got its 408) or the client has gone: on the loopback hop those writes went to a closed connection and
 * were lost. Here they are dropped the same way instead of throwing `ERR_HTTP_HEADERS_SENT` or `write after end`.
 */
function lateWritesGoNowhere(res: http.ServerResponse): void {
  // Wrapped on this one response and called with it as `this`, as the originals would be.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { setHeader, write, end } = res;
  res.setHeader = function (this: http.ServerResponse, ...args: Parameters<typeof setHeader>) {
    return this.headersSent ? this : setHeader.apply(this, args);
  };
  res.write = function (this: http.ServerResponse, ...args: Parameters<typeof write>) {
    return this.writableEnded || this.destroyed ? false : write.apply(this, args);
  } as typeof write;
  res.end = function (this: http.ServerResponse, ...args: Parameters<typeof end>) {
    return this.writableEnded || this.destroyed ? this : end.apply(this, args);
  } as typeof end;
}
