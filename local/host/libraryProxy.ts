import diagnosticsChannel from 'node:diagnostics_channel';
import { Server } from 'node:http';
import type { ProgrammingModel, WorkerCapabilities } from './coreTypes';

/** The capabilities the worker announces to the programming model (as the Node worker does). */
const workerCapabilities: Readonly<WorkerCapabilities> = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

// Node's own tracing channel for `net.Server#listen()` (diagnostics_channel, Node 20.20+ and 22.x).
const listenChannel = 'tracing:net.server.listen:asyncEnd';

export interface Capabilities {
  /**
   * Where the library's HTTP streaming proxy listens (on loopback; `HttpUri` names the port it first took);
   * undefined without `enableHttpStream`.
   */
  readonly proxyUri: string | undefined;
  /** The library's proxy server itself, when found in this process (local/host/handover.ts hands requests to it). */
  readonly proxyServer: Server | undefined;
  /** Closes the library's proxy server and its connections; resolves at once when there is none. */
  closeProxy(): Promise<void>;
}

/**
 * Asks the programming model for its capabilities, which locks `app.setup` and, with `enableHttpStream`, starts
 * the library's HTTP proxy server.
 *
 * Why this adapter exists: the library's `setupHttpProxy` creates that server inside `getCapabilities` and never
 * exposes it; in Azure nothing closes it either (the worker process simply exits). This host can be closed
 * in-process, so it has to find the server. It does so without patching anything: Node publishes every server
 * that starts listening on the `net.server.listen` tracing channel, and the library's is the one listening on
 * the port `HttpUri` names.
 */
export async function negotiateCapabilities(model: ProgrammingModel | undefined): Promise<Capabilities> {
  const listening: Server[] = [];
  const record = (message: unknown) => {
    const { server } = message as { server?: unknown };
    if (server instanceof Server) listening.push(server as Server);
  };
  diagnosticsChannel.subscribe(listenChannel, record);
  let capabilities: WorkerCapabilities | undefined;
  try {
    capabilities = await model?.getCapabilities?.({ ...workerCapabilities });
  } finally {
    diagnosticsChannel.unsubscribe(listenChannel, record);
  }
  const announced = capabilities?.HttpUri;
  const proxy =
    announced === undefined ? undefined : listening.find((s) => portOf(s) === Number(new URL(announced).port));
  const proxyUri = proxy ? await onLoopback(proxy) : announced;
  return {
    proxyUri,
    proxyServer: proxy,
    closeProxy: () => (proxy ? closeServer(proxy) : Promise.resolve()),
  };
}

/**
 * The library's proxy listens on every interface (`server.listen()` with no host, src/http/httpProxy.ts) and takes
 * any request that names a pending invocation id: on a laptop in a café, that is a door into running chats. Only
 * this host talks to it, so it is moved to a new port on loopback before any request can arrive, and the URI
 * returned is the one to use. Proposed upstream: listen on 127.0.0.1 (local/host/README.md, "Upstream").
 */
async function onLoopback(server: Server): Promise<string> {
  const address = server.address();
  if (typeof address === 'object' && address !== null && isLoopback(address.address)) {
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`;
  }
  // No connection can exist yet (the host has not started), so close() completes at once.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${portOf(server)}/`;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections from this host's agent would otherwise hold the server open.
  server.closeAllConnections();
  return closed;
}

function portOf(server: Server): number | undefined {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
}
