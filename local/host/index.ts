/**
 * A local stand-in for the Azure Functions host + Node.js worker: loads the app entry through the
 * `@azure/functions-core` contract and serves the app's registered HTTP triggers.
 *
 * One host per process: the core module hook (`Module.prototype.require`) and the `@azure/functions` library's
 * module state (registrations, `app.setup`, its HTTP streaming proxy) are process-global, and the app's modules
 * stay cached after `close()`. A second `startLocalHost` in the same process throws.
 */
import { randomUUID } from 'node:crypto';
// Default import: the module object itself, whose createServer captureServers() swaps.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { isAuthorized, presentedKey, toAuthLevel, type AuthLevel, type KeyPolicy } from './auth';
import { createCoreApi, installCoreModule, FunctionAppState, type LogEntry, type RegisteredFunction } from './coreApi';
import type { AppStartContext, HookContext, RpcBindingInfo } from './coreTypes';
import { corsPreflightHeaders, corsResponseHeaders, isPreflight, type CorsOptions } from './cors';
import { loadEntryFile, resolveEntryFiles } from './entry';
import { invokeFunction } from './invoke';
import { consoleLogger, type LocalHostLogger } from './logger';
import { compareRoutePrecedence, compileRoute, fullRouteTemplate, type CompiledRoute } from './routes';
import { fromHttpInvocationResponse, toHttpInvocationRequest } from './rpcHttp';
import { readRoutePrefix } from './settings';
import { forwardToLibraryProxy, type ForwardResult } from './streaming';

export type { AuthLevel } from './auth';
export type { CorsOptions } from './cors';
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
  /** Default: {@link consoleLogger}. */
  readonly logger?: LocalHostLogger;
}

export interface HttpFunctionInfo {
  readonly name: string;
  /** Full route template including the prefix, with a leading slash: `/api/items/{id}`. */
  readonly route: string;
  /** Upper-case HTTP methods the function accepts. */
  readonly methods: readonly string[];
  readonly authLevel: AuthLevel;
}

export interface LocalHost {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:7071`. */
  readonly url: string;
  readonly port: number;
  readonly functions: readonly HttpFunctionInfo[];
  /** Stops accepting requests, closes open connections and the library's proxy, then runs appTerminate hooks. */
  close(): Promise<void>;
}

interface HttpRoute {
  readonly info: HttpFunctionInfo;
  readonly fn: RegisteredFunction;
  readonly route: CompiledRoute;
  readonly triggerName: string;
  readonly httpOutputName: string;
  readonly anyMethod: boolean;
}

const allMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'];
const startedSlot = Symbol.for('azure-chat-backend.localHost.started');
const invocationReason = 'This function was programmatically called via the host APIs.';

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const slots = globalThis as { [startedSlot]?: boolean };
  if (slots[startedSlot]) {
    throw new Error(
      'A local Functions host was already started in this process; only one host per process is supported.',
    );
  }
  slots[startedSlot] = true;

  const cwd = path.resolve(options.cwd ?? process.cwd());
  const logger = options.logger ?? consoleLogger;
  const app = new FunctionAppState((entry) => writeLog(logger, entry));
  installCoreModule(createCoreApi(app));

  // Startup as in the worker: load the entry files, end registration, run appStart hooks, then ask the
  // programming model for its capabilities (which locks `app.setup` and starts the library's HTTP proxy).
  for (const file of resolveEntryFiles(cwd, options.entry)) {
    try {
      await loadEntryFile(file);
    } catch (err) {
      throw new Error(`Failed to load entry file ${file}: ${errorText(err)}`, { cause: err });
    }
  }
  app.lockRegistration();
  const appStartContext: AppStartContext = {
    hookData: app.appLevelOnlyHookData,
    appHookData: app.appHookData,
    functionAppDirectory: cwd,
  };
  await app.executeHooks('appStart', appStartContext);
  const capturedServers: http.Server[] = [];
  const capabilities = await captureServers(capturedServers, () =>
    app.programmingModel?.getCapabilities?.({
      RawHttpBodyBytes: 'true',
      RpcHttpTriggerMetadataRemoved: 'true',
      RpcHttpBodyOnly: 'true',
      IgnoreEmptyValuedRpcHttpHeaders: 'true',
      WorkerStatus: 'true',
      TypedDataCollection: 'true',
      HandlesWorkerTerminateMessage: 'true',
    }),
  );
  const proxyUri = capabilities?.HttpUri;

  const routePrefix = options.routePrefix ?? readRoutePrefix(cwd);
  const routes = buildRoutes(app, routePrefix, logger);
  const functionKeys = options.functionKeys ?? [];
  const keyPolicy: KeyPolicy = {
    enforce: options.enforceKeys ?? (functionKeys.length > 0 || options.masterKey !== undefined),
    functionKeys,
    masterKey: options.masterKey,
  };

  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer({ noDelay: true }, (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      logger.error(`Unhandled error while serving ${req.method} ${req.url}: ${errorText(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `${options.host ?? '127.0.0.1'}`}`);
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;

    if (options.cors && origin !== undefined && isPreflight(method, req.headers)) {
      const requested = req.headers['access-control-request-headers'];
      const headers = corsPreflightHeaders(
        origin,
        String(req.headers['access-control-request-method']),
        Array.isArray(requested) ? requested.join(', ') : requested,
        options.cors,
      );
      req.resume();
      res.writeHead(204, headers).end();
      return;
    }
    const corsHeaders = corsResponseHeaders(origin, options.cors);

    const matched = matchRoute(routes, method, url.pathname);
    if (!matched) {
      req.resume();
      res.writeHead(404, corsHeaders).end();
      return;
    }
    const { route, params } = matched;
    if (
      !isAuthorized(route.info.authLevel, presentedKey(req.headers['x-functions-key'], url.searchParams), keyPolicy)
    ) {
      req.resume();
      res.writeHead(401, corsHeaders).end();
      return;
    }

    const invocationId = randomUUID();
    const functionLabel = `Functions.${route.info.name}`;
    const started = performance.now();
    logger.info(`Executing '${functionLabel}' (Reason='${invocationReason}', Id=${invocationId})`);
    const finished = (error: unknown) => {
      const duration = Math.round(performance.now() - started);
      if (error === undefined) {
        logger.info(`Executed '${functionLabel}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`);
      } else {
        logger.error(`Executed '${functionLabel}' (Failed, Id=${invocationId}, Duration=${duration}ms)`);
        logger.error(`Result: Failure Exception: ${errorText(error)}`);
      }
    };

    const rpcInput = {
      invocationId,
      functionId: route.fn.id,
      triggerName: route.triggerName,
      method,
      url,
      headers: req.headers,
      params,
    };

    if (proxyUri) {
      const outcome: ForwardResult = await forwardToLibraryProxy({
        proxyUri,
        agent,
        invocationId,
        req,
        res,
        extraHeaders: corsHeaders,
        invoke: () => invokeFunction(app, route.fn, toHttpInvocationRequest(rpcInput)),
      });
      finished(outcome.error);
      return;
    }

    const body = await readBody(req);
    if (body === undefined) {
      logger.warn(`Client closed the connection before sending the whole body; '${functionLabel}' not invoked.`);
      return;
    }
    try {
      const { response } = await invokeFunction(app, route.fn, toHttpInvocationRequest({ ...rpcInput, body }));
      const result = fromHttpInvocationResponse(response, route.httpOutputName);
      finished(undefined);
      if (res.destroyed) return;
      res.writeHead(result.status, { ...result.headers, ...corsHeaders }).end(result.body);
    } catch (err) {
      finished(err);
      if (!res.destroyed) res.writeHead(500, corsHeaders).end();
    }
  }

  const port = await listen(server, options.port ?? 7071, options.host ?? '127.0.0.1');
  const displayHost = options.host ?? '127.0.0.1';
  const url = `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`;
  logFunctionList(logger, url, routes);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    functions: routes.map((r) => r.info),
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        for (const proxy of capturedServers) {
          proxy.close();
          proxy.closeAllConnections();
        }
        await closed;
        const terminateContext: HookContext = { hookData: app.appLevelOnlyHookData, appHookData: app.appHookData };
        await app.executeHooks('appTerminate', terminateContext);
      })();
      return closing;
    },
  };
}

/**
 * Runs `start` while recording the `http.Server`s it creates. The library's `setupHttpProxy` creates its server
 * synchronously inside `getCapabilities` and never exposes it; recording it lets `close()` shut it down.
 */
async function captureServers<T>(sink: http.Server[], start: () => T): Promise<Awaited<T>> {
  const original = http.createServer;
  const recording = ((...args: Parameters<typeof http.createServer>) => {
    const server = original(...args);
    sink.push(server);
    return server;
  }) as typeof http.createServer;
  http.createServer = recording;
  let pending: T;
  try {
    pending = start();
  } finally {
    http.createServer = original;
  }
  return await pending;
}

function buildRoutes(app: FunctionAppState, routePrefix: string, logger: LocalHostLogger): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const fn of app.functions.values()) {
    const bindings = Object.entries(fn.bindings);
    const trigger = bindings.find(([, b]) => b.type?.toLowerCase() === 'httptrigger');
    if (!trigger) {
      const type = bindings.find(([, b]) => b.direction === 'in' && b.type?.endsWith('Trigger'))?.[1].type;
      logger.warn(`Function '${fn.name}' (${type ?? 'unknown trigger'}) is registered but not run by the local host.`);
      continue;
    }
    const [triggerName, binding] = trigger;
    const template = fullRouteTemplate(routePrefix, stringOption(binding, 'route') ?? fn.name);
    const declared = Array.isArray(binding.methods) ? binding.methods.map((m) => String(m).toUpperCase()) : [];
    const httpOutputName =
      bindings.find(([, b]) => b.direction === 'out' && b.type?.toLowerCase() === 'http')?.[0] ?? '$return';
    routes.push({
      fn,
      triggerName,
      httpOutputName,
      route: compileRoute(template),
      anyMethod: declared.length === 0,
      info: {
        name: fn.name,
        route: `/${compileRoute(template).template}`,
        methods: declared.length === 0 ? allMethods : declared,
        authLevel: toAuthLevel(binding.authLevel),
      },
    });
  }
  return routes.sort((a, b) => compareRoutePrecedence(a.route, b.route));
}

/** The host answers 404 (not 405) when no function matches both method and route. */
function matchRoute(
  routes: readonly HttpRoute[],
  method: string,
  pathname: string,
): { route: HttpRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (!route.anyMethod && !route.info.methods.includes(method)) continue;
    const params = route.route.match(pathname);
    if (params) return { route, params };
  }
  return undefined;
}

function stringOption(binding: RpcBindingInfo, name: string): string | undefined {
  const value = binding[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The whole request body, or undefined when the client went away while sending it. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
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

function logFunctionList(logger: LocalHostLogger, url: string, routes: readonly HttpRoute[]): void {
  const lines = routes.map((r) => `  ${r.info.name}: [${r.info.methods.join(',')}] ${url}${r.info.route}`);
  logger.info(`Functions:\n${lines.join('\n')}`);
}

function writeLog(logger: LocalHostLogger, entry: LogEntry): void {
  const text = entry.message;
  switch (entry.level) {
    case 'none':
      return;
    case 'trace':
    case 'debug':
      logger.debug?.(text);
      return;
    case 'information':
      // System information from the library is chatter ("Http proxy closing"); keep it at debug.
      if (entry.category === 'system') logger.debug?.(text);
      else logger.info(text);
      return;
    case 'warning':
      logger.warn(text);
      return;
    default:
      logger.error(text);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
