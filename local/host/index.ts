/**
 * A local stand-in for the Azure Functions host + Node.js worker: loads the app entry through the
 * `@azure/functions-core` contract and serves the app's registered HTTP triggers.
 *
 * The parts, in the order a request meets them: `startup` (entry files, hooks, capabilities; one host per
 * process), `routeTable` (the functions' routes), `gate` (CORS preflight, route, function key), `dispatch`
 * (invocation, through the library's proxy when streaming), all served by `server`.
 */
import * as path from 'node:path';
import type { KeyPolicy } from './auth';
import type { CorsOptions } from './cors';
import { resolveLimits, type HttpLimits } from './limits';
import { consoleLogger, type LocalHostLogger } from './logger';
import { buildRouteTable, type HttpFunctionInfo, type HttpRoute } from './routeTable';
import { createHostServer } from './server';
import { readRoutePrefix } from './settings';
import { startFunctionApp } from './startup';
import { libraryProxyAgent } from './streaming';

export type { AuthLevel } from './auth';
export type { CorsOptions } from './cors';
export type { HttpFunctionInfo } from './routeTable';
export { defaultHttpLimits, type HttpLimits } from './limits';
export { consoleLogger, silentLogger, type LocalHostLogger } from './logger';
export { applySettingsToEnv, loadLocalSettings, readRoutePrefix, type LocalSettings } from './settings';

export interface LocalHostOptions {
  /** The function app directory (package.json, host.json). Default: `process.cwd()`. */
  readonly cwd?: string;
  /** Entry file or glob (`*` in the last segment), relative to `cwd`. Default: package.json `main`. */
  readonly entry?: string;
  /** Port to listen on; 0 picks a free one. Default: 7071 (as `func start`). */
  readonly port?: number;
  /** Interface to bind. Default: `127.0.0.1`. */
  readonly host?: string;
  /**
   * `Host` names answered besides loopback names and IP literals (DNS rebinding defence, see host-names.ts); the
   * bind `host`, when it is a name, is always answered. Default none.
   */
  readonly allowedHosts?: readonly string[];
  /** Keys accepted for `function` level (from `x-functions-key` or `?code=`). */
  readonly functionKeys?: readonly string[];
  /** Key accepted for `function` and `admin` level. */
  readonly masterKey?: string;
  /** Whether keys are checked. Default: true when any key is configured, false otherwise (like `func start`). */
  readonly enforceKeys?: boolean;
  /** App Service style CORS; absent means no CORS handling at all. */
  readonly cors?: CorsOptions;
  /** Route prefix. Default: host.json `extensions.http.routePrefix`, else `api`. */
  readonly routePrefix?: string;
  /** Timeouts and the drain bound for client connections; each defaults to {@link defaultHttpLimits}. */
  readonly limits?: Partial<HttpLimits>;
  /**
   * How requests reach the library's HTTP-streaming proxy: `in-process` (default) hands the client's request and
   * response to the library's server object; `http` forwards them over loopback, as the Functions host does from
   * its own process (and as this host does when it cannot find that server).
   */
  readonly libraryProxy?: 'in-process' | 'http';
  /** Default: {@link consoleLogger}. */
  readonly logger?: LocalHostLogger;
}

export interface LocalHost {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:7071`. */
  readonly url: string;
  readonly port: number;
  readonly functions: readonly HttpFunctionInfo[];
  /** The library's HTTP-streaming proxy this host forwards to (loopback), when the app enabled streaming. */
  readonly proxyUri: string | undefined;
  /** Stops accepting requests, closes open connections and the library's proxy, then runs appTerminate hooks. */
  close(): Promise<void>;
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const logger = options.logger ?? consoleLogger;
  const host = options.host ?? '127.0.0.1';
  const limits = resolveLimits(options.limits);
  const started = await startFunctionApp({ cwd, entry: options.entry, logger });
  const routes = buildRouteTable(started.app, options.routePrefix ?? readRoutePrefix(cwd), logger);
  const proxyAgent = libraryProxyAgent();
  const server = createHostServer({
    routes,
    policy: { keys: keyPolicy(options), cors: options.cors },
    dispatcher: {
      app: started.app,
      proxyUri: started.proxyUri,
      proxyServer: options.libraryProxy === 'http' ? undefined : started.proxyServer,
      proxyAgent,
      limits,
      logger,
    },
    defaultHost: host,
    allowedHosts: [host, ...(options.allowedHosts ?? [])],
  });
  const port = await server.listen(options.port ?? 7071, host).catch(async (error: unknown) => {
    // Nothing will be served: release the library's proxy too, then let the caller explain the error.
    proxyAgent.destroy();
    await started.terminate();
    throw error;
  });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logFunctionList(logger, url, routes);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    functions: routes.map((r) => r.info),
    proxyUri: started.proxyUri,
    close: () => {
      closing ??= (async () => {
        await server.close();
        proxyAgent.destroy();
        await started.terminate();
      })();
      return closing;
    },
  };
}

/** Keys are enforced when any is configured, unless told otherwise (like `func start`). */
function keyPolicy(options: LocalHostOptions): KeyPolicy {
  const functionKeys = options.functionKeys ?? [];
  return {
    enforce: options.enforceKeys ?? (functionKeys.length > 0 || options.masterKey !== undefined),
    functionKeys,
    masterKey: options.masterKey,
  };
}

function logFunctionList(logger: LocalHostLogger, url: string, routes: readonly HttpRoute[]): void {
  const lines = routes.map((r) => `  ${r.info.name}: [${r.info.methods.join(',')}] ${url}${r.info.route}`);
  logger.info(`Functions:\n${lines.join('\n')}`);
}
