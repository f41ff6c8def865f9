/**
 * The `app` every function file registers with, set up once: HTTP streaming on (bodies go out
 * chunk by chunk), and configuration checked at start-up so a bad setting stops the app with a
 * message instead of failing the first chat.
 */
import {
  app as functionsApp,
  type HttpFunctionOptions,
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from '@azure/functions';
import { chatAccess } from './auth/access';
import type { Caller } from './auth/caller';
import { clientSignalOf, stopStreamsOnDisconnect } from './http/client-disconnect';
import { overloadedResponse, tooManyInFlightResponse } from './http/overload';
import { requestScope } from './http/request-id';
import { errorResponse } from './http/responses';
import type { RouteEntry } from './http/route-methods';
import { productionServices, type Services } from './production';
import { releasingBody, type Release } from './resilience/caller-limit';

const routes: RouteEntry[] = [];

/**
 * The library's `app`, whose `http()` also notes each route and its methods, so the catch-all can answer a known
 * route asked with another method with 405 and `Allow` (the Functions host has no such answer: it passes the
 * request on to the catch-all).
 */
const app: typeof functionsApp = {
  ...functionsApp,
  http(name: string, options: HttpFunctionOptions): void {
    // The library's defaults: the route is the function's name; no methods means GET and POST.
    const methods = (options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
    routes.push({ template: options.route ?? name, methods });
    functionsApp.http(name, options);
  },
};

/** The HTTP routes registered so far (all of them once the function files are loaded). */
export function registeredRoutes(): readonly RouteEntry[] {
  return routes;
}

app.setup({ enableHttpStream: true });
// A client that leaves stops the model call (Azure/azure-functions-nodejs-library#294; see the module).
stopStreamsOnDisconnect(app);
app.hook.appStart(() => {
  productionServices();
});

export { app };

/**
 * Auth level of the chat routes for the Functions host: `function` (the host checks the function key)
 * when only service callers are allowed, `anonymous` when users sign in (the app checks every request
 * itself, see shared/auth/access.ts) or CHAT_AUTH_LEVEL=anonymous. Read when the function files
 * register; a bad setting stops the app at load with a message naming it.
 */
export const chatAuthLevel = chatAccess(process.env).routeAuthLevel;

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * A handler built from the production services on its first call (once per process), so that
 * importing a function file (as tests do, for its factory) wires nothing.
 */
export function wired<A extends unknown[]>(
  factory: (services: Services) => (...args: A) => Promise<HttpResponseInit>,
): (...args: A) => Promise<HttpResponseInit> {
  let handler: ((...args: A) => Promise<HttpResponseInit>) | undefined;
  return (...args) => {
    handler ??= factory(productionServices());
    return handler(...args);
  };
}

/** A chat handler: the caller is the one the gate admitted (undefined when a test calls the handler directly). */
type CallerHandler = (request: HttpRequest, context: InvocationContext, caller?: Caller) => Promise<HttpResponseInit>;

/**
 * A chat handler behind the caller gate, the per-caller limit and the load shedder (production wiring), cheapest
 * and most specific first, all before the body is read or any upstream is called: a caller without valid
 * credentials gets the gate's 401/403/503; a caller who already has CHAT_CALLER_MAX_IN_FLIGHT requests running
 * here gets 429 `too_many_in_flight`, so one flooding user costs only themselves; an overloaded instance answers
 * 503 `overloaded`. A caller's request counts as in flight until its answer is complete (a stream's body ended or
 * cancelled, or the client gone), the shedder's until the handler returns.
 */
export function gated(factory: (services: Services) => CallerHandler): Handler {
  const handler = wired(factory);
  return async (request, context) => {
    const { gate, config, overload, callers } = productionServices();
    let caller: Caller | undefined;
    try {
      caller = await gate.admit(request);
    } catch (error) {
      // The gate logs nothing itself: the refusal is logged once, here, with the id the caller is told.
      return errorResponse(error, requestScope(request, context, config));
    }
    const admission = callers.admit(caller);
    if (!admission.ok) return tooManyInFlightResponse(request, admission, config);
    const shed = overload.admit(context.functionName);
    if (shed) {
      admission.release();
      return overloadedResponse(request, shed, config);
    }
    let response: HttpResponseInit | undefined;
    try {
      response = await handler(request, context, caller);
      return response;
    } finally {
      overload.done();
      releaseWhenComplete(response, admission.release, clientSignalOf(context).signal);
    }
  };
}

/** Releases the caller's slot now, or for a streamed body when it ends (or the client leaves first). */
function releaseWhenComplete(response: HttpResponseInit | undefined, release: Release, signal?: AbortSignal): void {
  const body = response?.body;
  if (response === undefined || typeof body !== 'object' || body === null || !(Symbol.asyncIterator in body)) {
    release();
    return;
  }
  signal?.addEventListener('abort', release, { once: true });
  (response as { body: unknown }).body = releasingBody(body, release);
}
