/**
 * The host's HTTP server: each request goes through the gate (CORS preflight, route, body, key), then to its
 * function. Bounded as Azure's front end bounds a client: time for the headers, for the whole request and for a
 * silence mid-body (see limits.ts); an answer sent before the body was read never leaves the rest of that body
 * to be read as the next request (requestBody.ts).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  bodyTimedOut,
  hostNotAllowed,
  invocationFailed,
  notOriginForm,
  refusalError,
  requestIdOf,
  sendHostError,
} from './answers';
import { watchBodyIdle } from './bodyIdle';
import { dispatch, type Dispatcher } from './dispatch';
import { admit, type GatePolicy } from './gate';
import { isAllowedHost } from './host-names';
import { errorText } from './logger';
import { bodyFraming, closeUnlessDrainable } from './requestBody';
import type { HttpRoute } from './routeTable';

export interface HostServerOptions {
  readonly routes: readonly HttpRoute[];
  readonly policy: GatePolicy;
  readonly dispatcher: Dispatcher;
  /** Host name for request URLs when the client sends no `Host` header. */
  readonly defaultHost: string;
  /** `Host` names answered besides loopback names and IP literals (see host-names.ts). */
  readonly allowedHosts: readonly string[];
}

export interface HostServer {
  /** Resolves with the port bound; rejects with the server's error (its `code`, e.g. EADDRINUSE, kept). */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting requests and cuts open connections (streams in flight included). */
  close(): Promise<void>;
}

export function createHostServer(options: HostServerOptions): HostServer {
  const { limits, logger } = options.dispatcher;
  const sockets = new Set<Socket>();
  const server = http.createServer(
    {
      noDelay: true,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node checks those two (default 30 s, longer than a short limit).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headersTimeoutMs / 4)),
    },
    (req, res) => {
      handleRequest(options, req, res).catch((err: unknown) => {
        logger.error(`Unhandled error while serving ${req.method} ${req.url}: ${errorText(err)}`);
        if (!res.headersSent) sendHostError(res, invocationFailed, { ...answerTo(req, {}), limits });
        else res.destroy();
      });
    },
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    listen: (port, host) => listen(server, port, host),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function handleRequest(
  options: HostServerOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const { limits } = options.dispatcher;
  const method = (req.method ?? 'GET').toUpperCase();
  if (!isAllowedHost(req.headers.host, options.allowedHosts)) {
    res.shouldKeepAlive = false;
    sendHostError(res, hostNotAllowed, { ...answerTo(req, {}), limits });
    return;
  }
  if (!isOriginForm(req.url)) {
    res.shouldKeepAlive = false;
    sendHostError(res, notOriginForm, { ...answerTo(req, {}), limits });
    return;
  }
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? options.defaultHost}`);
  watchBodyIdle(req, limits.bodyIdleTimeoutMs, () => onBodyIdle(options, req, res));
  const framing = bodyFraming(req.headers);
  const admission = admit({ method, url, headers: req.headers, framing }, options.routes, options.policy);
  switch (admission.kind) {
    case 'preflight':
      closeUnlessDrainable(res, limits);
      res.writeHead(204, admission.headers).end();
      return;
    case 'refused': {
      const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
      const error = refusalError({ ...admission, method, pathname: url.pathname, ...(origin ? { origin } : {}) });
      sendHostError(res, error, { ...answerTo(req, admission.corsHeaders), limits });
      return;
    }
    case 'admitted':
      await dispatch(options.dispatcher, {
        req,
        res,
        method,
        url,
        match: admission.match,
        corsHeaders: admission.corsHeaders,
      });
  }
}

/** A client that stopped sending its body: 408 when nothing was answered yet, and the connection ends either way. */
function onBodyIdle(options: HostServerOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { limits, logger } = options.dispatcher;
  logger.warn(
    `${req.method} ${new URL(req.url ?? '/', 'http://host').pathname}: body idle for ${limits.bodyIdleTimeoutMs} ms; closing`,
  );
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  // Never drained: the rest of this body is not coming.
  res.shouldKeepAlive = false;
  sendHostError(res, bodyTimedOut, { ...answerTo(req, {}), limits });
}

/** `/path?query`, the only request target an origin server takes (RFC 9112 3.2.1); `*` is for OPTIONS only. */
function isOriginForm(target: string | undefined): boolean {
  return target !== undefined && target.startsWith('/') && !target.startsWith('//');
}

function answerTo(req: http.IncomingMessage, headers: Record<string, string>) {
  return { requestId: requestIdOf(req.headers), headers };
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
