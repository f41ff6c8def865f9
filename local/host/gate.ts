/**
 * What the Functions host decides before any function runs, in its order: CORS preflights are answered by the
 * host, then the route is looked up, then the function key is checked against the function's auth level. Between
 * the two, this host refuses a body on a GET or HEAD: no route here reads one, and forwarding it would need a
 * framing the proxy does not expect for those methods.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { keyRefusal, presentedKey, type KeyPolicy, type KeyRefusal } from './auth';
import {
  corsPreflightHeaders,
  corsResponseHeaders,
  isOriginAllowed,
  isPreflight,
  type CorsOptions,
  type HeaderMap,
} from './cors';
import { bodyAllowed, type BodyFraming } from './requestBody';
import { matchRoute, methodsForPath, type HttpRoute, type RouteMatch } from './routeTable';

export interface GatePolicy {
  readonly keys: KeyPolicy;
  /** App Service style CORS; undefined means no CORS handling at all. */
  readonly cors: CorsOptions | undefined;
}

export interface GateRequest {
  /** Upper case. */
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly framing: BodyFraming;
}

/**
 * Why the host answers instead of a function: a preflight from an origin CORS does not allow, no function for
 * method and route, a body where none may be, or a key problem.
 */
export type Refusal = 'origin-not-allowed' | 'no-route' | 'body-not-allowed' | KeyRefusal;

export type Admission =
  | { readonly kind: 'preflight'; readonly headers: HeaderMap }
  | {
      readonly kind: 'refused';
      readonly reason: Refusal;
      /** The function the key was checked for; undefined when no route matched. */
      readonly route: HttpRoute | undefined;
      readonly corsHeaders: HeaderMap;
    }
  | { readonly kind: 'admitted'; readonly match: RouteMatch; readonly corsHeaders: HeaderMap };

export function admit(request: GateRequest, routes: readonly HttpRoute[], policy: GatePolicy): Admission {
  const { method, headers } = request;
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  if (policy.cors && origin !== undefined && isPreflight(method, headers)) {
    if (!isOriginAllowed(origin, policy.cors)) {
      return { kind: 'refused', reason: 'origin-not-allowed', route: undefined, corsHeaders: { vary: 'Origin' } };
    }
    const requested = headers['access-control-request-headers'];
    const requestedHeaders = Array.isArray(requested) ? requested.join(', ') : requested;
    const requestMethod = String(headers['access-control-request-method']).toUpperCase();
    const routeMethods = methodsForPath(routes, request.url.pathname);
    return {
      kind: 'preflight',
      headers: corsPreflightHeaders(
        { origin, method: requestMethod, headers: requestedHeaders, routeMethods },
        policy.cors,
      ),
    };
  }
  const corsHeaders = corsResponseHeaders(origin, policy.cors);
  const match = matchRoute(routes, method, request.url.pathname);
  if (!match) return { kind: 'refused', reason: 'no-route', route: undefined, corsHeaders };
  if (!bodyAllowed(method, request.framing)) {
    return { kind: 'refused', reason: 'body-not-allowed', route: match.route, corsHeaders };
  }
  const key = presentedKey(headers['x-functions-key'], request.url.searchParams);
  const refusal = keyRefusal(match.route.info.authLevel, key, policy.keys);
  if (refusal) return { kind: 'refused', reason: refusal, route: match.route, corsHeaders };
  return { kind: 'admitted', match, corsHeaders };
}
