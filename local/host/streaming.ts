import http from 'node:http';
import { invocationFailed, sendHostError } from './answers';
import type { HeaderMap } from './cors';
import type { InvocationOutcome } from './invoke';

export interface ForwardOptions {
  /** `HttpUri` from the programming model's capabilities (the library's proxy server). */
  readonly proxyUri: string;
  readonly agent: http.Agent;
  readonly invocationId: string;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Added to the client response (CORS). */
  readonly extraHeaders: HeaderMap;
  /** For the host's own error answer when the invocation fails before anything was sent. */
  readonly requestId: string;
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
 * If the client goes away, the proxied request is destroyed, so the library's request stream errors.
 */
export async function forwardToLibraryProxy(options: ForwardOptions): Promise<ForwardResult> {
  const { req, res } = options;
  const resClosed = new Promise<void>((resolve) => res.once('close', resolve));
  const upstream = http.request(new URL(req.url ?? '/', options.proxyUri), {
    method: req.method,
    headers: forwardedRequestHeaders(req, options.invocationId),
    agent: options.agent,
  });

  let responseStarted = false;
  upstream.on('error', () => undefined); // destroy() is how we end it early; the outcome is handled below
  upstream.once('response', (upstreamRes) => {
    responseStarted = true;
    upstreamRes.on('error', () => res.destroy());
    upstreamRes.once('aborted', () => res.destroy());
    if (res.destroyed) {
      upstreamRes.destroy();
      return;
    }
    res.writeHead(upstreamRes.statusCode ?? 500, { ...forwardedResponseHeaders(upstreamRes), ...options.extraHeaders });
    res.flushHeaders();
    upstreamRes.pipe(res);
  });
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);

  let outcome: InvocationOutcome;
  try {
    outcome = await options.invoke();
  } catch (error) {
    // The library never answers the proxied request of a failed invocation: the host's 500 if nothing was sent
    // yet, else cut the connection so the client sees a truncated response rather than a clean end.
    upstream.destroy();
    if (!res.headersSent && !res.destroyed) {
      sendHostError(res, invocationFailed, { requestId: options.requestId, headers: options.extraHeaders });
    } else res.destroy();
    return { error };
  }

  if (!responseStarted && (outcome.result === undefined || outcome.result === null)) {
    // Nothing to send over the proxy: the handler returned no response.
    upstream.destroy();
    if (!res.headersSent && !res.destroyed) res.writeHead(204, options.extraHeaders).end();
    return { error: undefined };
  }
  await resClosed;
  return { error: undefined };
}

function forwardedRequestHeaders(req: http.IncomingMessage, invocationId: string): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined && !hopByHop.has(key) && key !== 'host') headers[key] = value;
  }
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
