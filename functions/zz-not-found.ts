import type { HttpMethod, HttpRequest, HttpResponseInit } from '@azure/functions';
import { ChatError } from '../shared/errors';
import { app } from '../shared/functions-app';
import { requestIdFrom } from '../shared/http/request-id';
import { errorResponse } from '../shared/http/responses';

/**
 * Any route under the prefix that no other function takes (`/api/...`, every method): 404 `not_found` in the
 * backend's one error body, instead of the Functions host's empty 404.
 */
export function createNotFoundHandler() {
  return (request: HttpRequest): Promise<HttpResponseInit> => {
    const requestId = requestIdFrom(request.headers);
    // The path only: the query may carry a function key (`?code=`).
    const path = new URL(request.url).pathname;
    const error = new ChatError('not_found', {
      message: `No endpoint matches ${request.method} ${path}. The API is described at GET /api/openapi.json.`,
    });
    return Promise.resolve(errorResponse(error, { requestId, exposeDiagnostics: false }));
  };
}

const allMethods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * The name starts with `zz` on purpose: Azure's Functions host tries routes in the order of the function names
 * (sorted ordinally, ignoring case) and takes the first match (azure-functions-host#9876), so this catch-all must
 * sort after every other function to leave their routes to them. The local host ranks routes by precedence
 * (literals before parameters before catch-alls), where a catch-all comes last anyway.
 */
app.http('zz-not-found', {
  route: '{*path}',
  methods: allMethods,
  authLevel: 'anonymous',
  handler: createNotFoundHandler(),
});
