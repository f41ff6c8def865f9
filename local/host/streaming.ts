import http from 'node:http';
import { invocationFailed, sendHostError } from './answers';
import type { HeaderMap } from './cors';
import type { InvocationOutcome } from './invoke';
import type { HttpLimits } from './limits';
import { bodyPending, closeUnlessDrainable, framingHeaders } from './requestBody';

export interface ForwardOptions {
  /** `HttpUri` from the programming model's capabilities (the library's proxy server). */
  readonly proxyUri: string;
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
 * HTTP streaming as the Functions host does it with `enableHttpStream`: the client's request is forwarded to the
 * library's proxy with `x-ms-invocation-id` while the invocation runs; the response (status, headers, body) comes
 * back over that proxied connection and is piped to the client chunk by chunk, headers flushed at once.
 *
 * Each exchange has a proxy connection of its own (`agent: false`), closed by this side when the exchange ends. An
 * exchange can end out of step (the app answered without reading the body, the client left mid-body): on a shared
 * connection the rest of the body, or a missing one, would become the start of the next client's request. A
 * loopback connect costs well under a millisecond; a stalled stranger's request costs a chat. The request still
 * says `Connection: keep-alive`: told `close`, the proxy closes as soon as it has answered, and an early answer
 * (413 before the body was read) is lost to the EPIPE of the body still being written.
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
    // The library never answers the proxied request of a failed invocation: the host's 500 if nothing was sent
    // yet, else cut the connection so the client sees a truncated response rather than a clean end.
    exchange.upstream.destroy();
    if (!res.headersSent && !res.destroyed) {
      sendHostError(res, invocationFailed, {
        requestId: options.requestId,
        headers: options.extraHeaders,
        limits: options.limits,
      });
    } else res.destroy();
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
  const upstream = http.request(new URL(req.url ?? '/', options.proxyUri), {
    method: req.method,
    headers: forwardedRequestHeaders(req, options.invocationId),
    agent: false,
  });
  let responseStarted = false;
  let responseDone = false;
  upstream.on('error', () => undefined); // destroy() is how we end it early; the outcome is handled by the caller
  upstream.once('response', (upstreamRes) => {
    responseStarted = true;
    upstreamRes.once('end', () => {
      responseDone = true;
      // The app answered without reading the whole body: stop sending it (the client side drains or closes).
      if (bodyPending(req)) {
        req.unpipe(upstream);
        upstream.destroy();
      }
    });
    relayResponse(upstreamRes, options);
  });
  res.once('close', () => {
    if (!responseDone) upstream.destroy();
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
  return { upstream, responseStarted: () => responseStarted };
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
  headers.connection = 'keep-alive'; // see forwardToLibraryProxy: the agent (`false`) still closes it afterwards
  headers[invocationIdHeader] = invocationId;
  headers['x-forwarded-host'] = req.headers.host ?? 'localhost';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  return headers;
}

function forwardedResponseHeaders(res: http.IncomingMessage): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(res.headers)) {
    if (value !== undefined && !hopByHop.has(key) && key !== invocationIdHeader) headers[key] = value;
  }
  return headers;
}
