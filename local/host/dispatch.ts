/**
 * Runs an admitted request's function, as the Functions host and worker do: through the library's HTTP proxy when
 * the app enabled streaming, else with the whole body in the invocation request. Logs one Executing and one
 * Executed line per invocation, like `func start`.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { invocationFailed, requestIdOf, sendHostError } from './answers';
import type { HeaderMap } from './cors';
import type { FunctionAppState } from './coreApi';
import { invokeFunction } from './invoke';
import type { HttpLimits } from './limits';
import { errorText, type LocalHostLogger } from './logger';
import type { RouteMatch } from './routeTable';
import { fromHttpInvocationResponse, toHttpInvocationRequest, type HttpInvocationInput } from './rpcHttp';
import { handOverToLibrary } from './handover';
import { forwardToLibraryProxy } from './streaming';

export interface Dispatcher {
  readonly app: FunctionAppState;
  /** The library's proxy (`HttpUri`); undefined when the app did not enable HTTP streaming. */
  readonly proxyUri: string | undefined;
  /**
   * The library's proxy server in this process: requests are handed to it directly (local/host/handover.ts).
   * Undefined when it was not found or the host was told to use the loopback hop (`libraryProxy: 'http'`).
   */
  readonly proxyServer: http.Server | undefined;
  /** Keep-alive connections to the library's proxy (see `forwardToLibraryProxy` for when one is not reused). */
  readonly proxyAgent: http.Agent;
  readonly limits: HttpLimits;
  readonly logger: LocalHostLogger;
}

export interface Invocation {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly method: string;
  readonly url: URL;
  readonly match: RouteMatch;
  /** Added to the function's response (CORS). */
  readonly corsHeaders: HeaderMap;
}

const invocationReason = 'This function was programmatically called via the host APIs.';

export async function dispatch(dispatcher: Dispatcher, call: Invocation): Promise<void> {
  const { route, params } = call.match;
  const rpcInput: HttpInvocationInput = {
    invocationId: randomUUID(),
    functionId: route.fn.id,
    triggerName: route.triggerName,
    method: call.method,
    url: call.url,
    headers: call.req.headers,
    params,
  };
  const log = invocationLog(dispatcher.logger, `Functions.${route.info.name}`, rpcInput.invocationId);
  if (dispatcher.proxyUri) {
    const forward = {
      proxyUri: dispatcher.proxyUri,
      agent: dispatcher.proxyAgent,
      invocationId: rpcInput.invocationId,
      req: call.req,
      res: call.res,
      extraHeaders: call.corsHeaders,
      requestId: requestIdOf(call.req.headers),
      limits: dispatcher.limits,
      invoke: () => invokeFunction(dispatcher.app, route.fn, toHttpInvocationRequest(rpcInput)),
    };
    const server = dispatcher.proxyServer;
    const outcome = server ? await handOverToLibrary({ ...forward, server }) : await forwardToLibraryProxy(forward);
    log.finished(outcome.error, clientLeft(call.res));
    return;
  }
  await invokeBuffered(dispatcher, { call, rpcInput, log });
}

interface BufferedCall {
  readonly call: Invocation;
  readonly rpcInput: HttpInvocationInput;
  readonly log: InvocationLog;
}

/** Without streaming: the whole body in, the whole response out. */
async function invokeBuffered(dispatcher: Dispatcher, { call, rpcInput, log }: BufferedCall): Promise<void> {
  const { req, res, corsHeaders } = call;
  const body = await readBody(req);
  if (body === undefined) {
    dispatcher.logger.warn(`Client closed the connection before sending the whole body; '${log.label}' not invoked.`);
    return;
  }
  try {
    const { response } = await invokeFunction(
      dispatcher.app,
      call.match.route.fn,
      toHttpInvocationRequest({ ...rpcInput, body }),
    );
    const result = fromHttpInvocationResponse(response, call.match.route.httpOutputName);
    log.finished(undefined, false);
    if (res.destroyed) return;
    res.writeHead(result.status, { ...result.headers, ...corsHeaders }).end(result.body);
  } catch (err) {
    log.finished(err, clientLeft(res));
    if (!res.destroyed) {
      const answer = { requestId: requestIdOf(req.headers), headers: corsHeaders, limits: dispatcher.limits };
      sendHostError(res, invocationFailed, answer);
    }
  }
}

interface InvocationLog {
  readonly label: string;
  /** `clientLeft`: the failure followed the client going away (the body it stopped sending cannot be read). */
  finished(error: unknown, clientLeft: boolean): void;
}

/** The client went away before its answer was complete: what the app then fails at is not the app's fault. */
function clientLeft(res: http.ServerResponse): boolean {
  return res.destroyed && !res.writableFinished;
}

/**
 * Logs `Executing` now and returns what logs `Executed` (with the duration) when the invocation ends: a failure at
 * error level, unless the client had left, which is a warning (nothing to fix on this side).
 */
function invocationLog(logger: LocalHostLogger, label: string, invocationId: string): InvocationLog {
  const started = performance.now();
  logger.info(`Executing '${label}' (Reason='${invocationReason}', Id=${invocationId})`);
  return {
    label,
    finished(error, clientLeft) {
      const duration = Math.round(performance.now() - started);
      if (error === undefined) {
        logger.info(`Executed '${label}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`);
        return;
      }
      if (clientLeft) {
        logger.warn(`Executed '${label}' (Client closed the connection, Id=${invocationId}, Duration=${duration}ms)`);
        logger.warn(`Result: the client left first: ${errorText(error).split('\n')[0]}`);
        return;
      }
      logger.error(`Executed '${label}' (Failed, Id=${invocationId}, Duration=${duration}ms)`);
      logger.error(`Result: Failure Exception: ${errorText(error)}`);
    },
  };
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
