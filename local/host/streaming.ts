import http from 'node:http';
import { answerInvocationFailure, proxyFailed, sendHostError } from './answers';
import type { HeaderMap } from './cors';
import type { InvocationOutcome } from './invoke';
import type { HttpLimits } from './limits';
import { bodyFraming, bodyPending, closeUnlessDrainable, framingHeaders } from './requestBody';

export interface ForwardOptions {
  /** `HttpUri` from the programming model's capabilities (the library's proxy server). */
  readonly proxyUri: string;
  /** From {@link libraryProxyAgent}: the connections to the proxy, reused while they stay in step. */
  readonly agent: http.Agent;
  readonly invocationId: string;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Added to the client response (CORS). */
  readonly extraHeaders: HeaderMap;
  /** For the host's own error answer when the invocation fails before anything was sent. */
  readonly requestId: string;
  readonly limits: HttpLimits;
  /** Runs the invocation; the library pairs it with the proxied request by invocation id. */
  readonly invoke: () => Promise<InvocationOutcome>;
}

export interface ForwardResult {
  /** The invocation's error, or undefined when it succeeded. */
  readonly error: unknown;
}

// Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded, in either direction.
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const invocationIdHeader = 'x-ms-invocation-id';

/**
 * Connections to the library's proxy, kept alive between exchanges: a loopback connect and close cost about as
 * much CPU as the rest of the hop (bench/results/RESULTS.md, "Where one chat's CPU goes"). Idle ones are closed
 * after 4 s, before the proxy's own 5 s keep-alive timeout can close one under a new request.
 */
export function libraryProxyAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 4_000 });
}

/**
 * HTTP streaming as the Functions host does it with `enableHttpStream`: the client's request is forwarded to the
 * library's proxy with `x-ms-invocation-id` while the invocation runs; the response (status, headers, body) comes
 * back over that proxied connection and is piped to the client chunk by chunk, headers flushed at once.
 *
 * A proxy connection goes back to the agent only when its exchange ended in step: the whole body framed and
 * sent, the whole answer read. An exchange that ends out of step (the app answered without reading the body, the
 * client left mid-body or mid-answer, the invocation failed) destroys its connection: on a reused one the rest of
 * the body, or a missing one, would become the start of the next client's request. The body is always framed
 * (`content-length` or chunked), never left to Node's default for the method.
 * If the client goes away, the proxied request is destroyed, so the library's request stream errors.
 */
export async function forwardToLibraryProxy(options: ForwardOptions): Promise<ForwardResult> {
  const { res } = options;
  const resClosed = new Promise<void>((resolve) => res.once('close', resolve));
  const exchange = openExchange(options);

  let outcome: InvocationOutcome;
  try {
    outcome = await options.invoke();
  } catch (error) {
    // The library never answers the proxied request of a failed invocation.
    exchange.upstream.destroy();
    answerInvocationFailure(res, {
      requestId: options.requestId,
      headers: options.extraHeaders,
      limits: options.limits,
    });
    return { error };
  }

  if (!exchange.responseStarted() && (outcome.result === undefined || outcome.result === null)) {
    // Nothing to send over the proxy: the handler returned no response.
    exchange.upstream.destroy();
    if (!res.headersSent && !res.destroyed) {
      closeUnlessDrainable(res, options.limits);
      res.writeHead(204, options.extraHeaders).end();
    }
    return { error: undefined };
  }
  await resClosed;
  return { error: undefined };
}

interface Exchange {
  readonly upstream: http.ClientRequest;
  responseStarted(): boolean;
}

/** Sends the client's request to the proxy and relays the proxy's answer; ends either side when the other stops. */
function openExchange(options: ForwardOptions): Exchange {
  const { req, res } = options;
  // Only the path and query come from the client: the proxy's own origin, never one the request names.
  const target = new URL(options.proxyUri);
  const asked = new URL(req.url ?? '/', 'http://host');
  target.pathname = asked.pathname;
  target.search = asked.search;
  const upstream = http.request(target, {
    method: req.method,
    headers: forwardedRequestHeaders(req, options.invocationId),
    agent: options.agent,
  });
  let responseStarted = false;
  let responseDone = false;
  // destroy() is how this host ends an exchange early, and then the client has its answer already. Any other
  // failure before the proxy answered (a kept-alive connection the proxy closed, say) gets the host's 502 rather
  // than no answer at all.
  upstream.on('error', () => {
    if (!responseStarted && !res.headersSent && !res.destroyed) {
      sendHostError(res, proxyFailed, {
        requestId: options.requestId,
        headers: options.extraHeaders,
        limits: options.limits,
      });
    }
  });
  upstream.once('response', (upstreamRes) => {
    responseStarted = true;
    const socket = upstreamRes.socket;
    upstreamRes.once('end', () => {
      responseDone = true;
      // The app answered without reading the whole body: stop sending it (the client side drains or closes).
      if (bodyPending(req)) req.unpipe(upstream);
      // Runs before the agent takes the connection back (on the next tick): one out of step is closed instead.
      if (!endedInStep(req, upstream, upstreamRes)) socket.destroy();
    });
    relayResponse(upstreamRes, options);
  });
  res.once('close', () => {
    if (!responseDone) upstream.destroy();
  });
  req.on('error', () => upstream.destroy());
  // Headers go at once, not with the first body byte: the app may answer (415, 401) before any body arrives.
  upstream.flushHeaders();
  req.pipe(upstream);
  return { upstream, responseStarted: () => responseStarted };
}

/**
 * Whether the proxy has read everything sent on the connection, so the next request starts where it should: the
 * client's body all received and all written, and an answer that is not an error to a request with a body (an
 * app answers 4xx/5xx, 413 above all, without reading the rest; the library's request stream then holds the
 * unread bytes, and the proxy would never see the next request's headers behind them).
 */
function endedInStep(req: http.IncomingMessage, upstream: http.ClientRequest, res: http.IncomingMessage): boolean {
  if (bodyFraming(req.headers) === 'none') return true;
  return !bodyPending(req) && upstream.writableFinished && (res.statusCode ?? 500) < 400;
}

function relayResponse(upstreamRes: http.IncomingMessage, options: ForwardOptions): void {
  const { res } = options;
  upstreamRes.on('error', () => res.destroy());
  upstreamRes.once('aborted', () => res.destroy());
  // Gone, or already answered by the host (a body that stopped arriving got its 408).
  if (res.destroyed || res.headersSent) {
    upstreamRes.destroy();
    return;
  }
  closeUnlessDrainable(res, options.limits);
  res.writeHead(upstreamRes.statusCode ?? 500, { ...forwardedResponseHeaders(upstreamRes), ...options.extraHeaders });
  res.flushHeaders();
  upstreamRes.pipe(res);
}

function forwardedRequestHeaders(req: http.IncomingMessage, invocationId: string): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined && !hopByHop.has(key) && key !== 'host' && key !== 'content-length') headers[key] = value;
  }
  // The body's framing is set anew, never left to Node's default for the method (none for a GET).
  Object.assign(headers, framingHeaders(req.headers));
  headers[invocationIdHeader] = invocationId;
  headers['x-forwarded-host'] = req.headers.host ?? 'localhost';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  return headers;
}

function forwardedResponseHeaders(res: http.IncomingMessage): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(res.headers)) {
    // `x-ms-invocation-id` (set by the library) included: the Functions host passes it to clients too.
    if (value !== undefined && !hopByHop.has(key)) headers[key] = value;
  }
  return headers;
}
