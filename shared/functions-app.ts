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
import { stopStreamsOnDisconnect } from './http/client-disconnect';
import { overloadedResponse } from './http/overload';
import { requestScope } from './http/request-id';
import { errorResponse } from './http/responses';
import type { RouteEntry } from './http/route-methods';
import { productionServices, type Services } from './production';

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
 * A chat handler behind the load shedder and the caller gate (production wiring): an overloaded instance
 * answers 503 `overloaded` first, before the caller check, the body or any upstream call, so a turned-away
 * request costs next to nothing (the shedder counts the others in flight until their handler returns); then
 * the request goes on only with an admitted caller; a refused one gets the gate's 401/403/503 in the one
 * error body.
 */
export function gated(factory: (services: Services) => CallerHandler): Handler {
  const handler = wired(factory);
  return async (request, context) => {
    const { gate, config, overload } = productionServices();
    const shed = overload.admit(context.functionName);
    if (shed) return overloadedResponse(request, shed, config);
    try {
      let caller: Caller | undefined;
      try {
        caller = await gate.admit(request);
      } catch (error) {
        // The gate logs nothing itself: the refusal is logged once, here, with the id the caller is told.
        return errorResponse(error, requestScope(request, context, config));
      }
      return await handler(request, context, caller);
    } finally {
      overload.done();
    }
  };
}
