/**
 * The host's HTTP server: each request goes through the gate (CORS preflight, route, key), then to its function.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { invocationFailed, refusalError, requestIdOf, sendHostError } from './answers';
import { dispatch, type Dispatcher } from './dispatch';
import { admit, type GatePolicy } from './gate';
import { errorText } from './logger';
import type { HttpRoute } from './routeTable';

export interface HostServerOptions {
  readonly routes: readonly HttpRoute[];
  readonly policy: GatePolicy;
  readonly dispatcher: Dispatcher;
  /** Host name for request URLs when the client sends no `Host` header. */
  readonly defaultHost: string;
}

export interface HostServer {
  /** Resolves with the port bound; rejects with the server's error (its `code`, e.g. EADDRINUSE, kept). */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting requests and cuts open connections (streams in flight included). */
  close(): Promise<void>;
}

export function createHostServer(options: HostServerOptions): HostServer {
  const sockets = new Set<Socket>();
  const server = http.createServer({ noDelay: true }, (req, res) => {
    handleRequest(options, req, res).catch((err: unknown) => {
      options.dispatcher.logger.error(`Unhandled error while serving ${req.method} ${req.url}: ${errorText(err)}`);
      if (!res.headersSent) sendHostError(res, invocationFailed, { requestId: requestIdOf(req.headers), headers: {} });
      else res.destroy();
    });
  });
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
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? options.defaultHost}`);
  const admission = admit({ method, url, headers: req.headers }, options.routes, options.policy);
  switch (admission.kind) {
    case 'preflight':
      req.resume();
      res.writeHead(204, admission.headers).end();
      return;
    case 'refused': {
      req.resume();
      const error = refusalError({ ...admission, method, pathname: url.pathname });
      sendHostError(res, error, { requestId: requestIdOf(req.headers), headers: admission.corsHeaders });
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

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
