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
  /** `HttpUri`: where the library's HTTP streaming proxy listens; undefined without `enableHttpStream`. */
  readonly proxyUri: string | undefined;
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
  const proxyUri = capabilities?.HttpUri;
  const proxy =
    proxyUri === undefined ? undefined : listening.find((s) => portOf(s) === Number(new URL(proxyUri).port));
  return {
    proxyUri,
    closeProxy: () => (proxy ? closeServer(proxy) : Promise.resolve()),
  };
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
