import type { HttpMethod, HttpRequest, HttpResponseInit } from '@azure/functions';
import { ChatError } from '../shared/errors';
import { app, registeredRoutes } from '../shared/functions-app';
import { isCorsPreflight, originNotAllowed } from '../shared/http/cors-hint';
import { requestIdFrom } from '../shared/http/request-id';
import { errorResponse } from '../shared/http/responses';
import { allowedMethods, type RouteEntry } from '../shared/http/route-methods';

export interface NotFoundDeps {
  /** The other functions' routes (templates without the prefix), read per request: all are registered by then. */
  readonly routes: () => readonly RouteEntry[];
}

/**
 * Any request under the prefix that no other function takes (`/api/...`, every method), in the backend's one error
 * body instead of the Functions host's empty answer:
 * - a CORS preflight: CORS is not on for its origin (App Service and the local host answer allowed origins' preflights
 *   themselves, before any function), so 403 `origin_not_allowed` names the setting that allows it;
 * - a known route asked with another method (`GET /api/chat`): 405 `method_not_allowed` with `Allow`;
 * - anything else: 404 `not_found`.
 */
export function createNotFoundHandler(deps: NotFoundDeps) {
  return (request: HttpRequest): Promise<HttpResponseInit> => {
    const requestId = requestIdFrom(request.headers);
    const ctx = { requestId, exposeDiagnostics: false };
    if (isCorsPreflight(request.method, (name) => request.headers.get(name))) {
      return Promise.resolve(errorResponse(originNotAllowed(request.headers.get('origin') ?? '', requestId), ctx));
    }
    // The path only: the query may carry a function key (`?code=`).
    const path = new URL(request.url).pathname;
    const allow = allowedMethods(deps.routes(), request.params.path ?? '');
    if (allow.length > 0) {
      const error = new ChatError('method_not_allowed', {
        message: `${path} takes ${allow.join(', ')}, not ${request.method}. The API is described at GET /api/openapi.json.`,
      });
      const response = errorResponse(error, ctx);
      return Promise.resolve({ ...response, headers: { ...response.headers, allow: allow.join(', ') } });
    }
    const error = new ChatError('not_found', {
      message: `No endpoint matches ${request.method} ${path}. The API is described at GET /api/openapi.json.`,
    });
    return Promise.resolve(errorResponse(error, ctx));
  };
}

const allMethods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const CATCH_ALL = '{*path}';

/**
 * The name starts with `zz` on purpose: Azure's Functions host tries routes in the order of the function names
 * (sorted ordinally, ignoring case) and takes the first match (azure-functions-host#9876), so this catch-all must
 * sort after every other function to leave their routes to them. The local host ranks routes by precedence
 * (literals before parameters before catch-alls), where a catch-all comes last anyway.
 */
app.http('zz-not-found', {
  route: CATCH_ALL,
  methods: allMethods,
  authLevel: 'anonymous',
  handler: createNotFoundHandler({ routes: () => registeredRoutes().filter((r) => r.template !== CATCH_ALL) }),
});
