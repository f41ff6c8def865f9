import type { HttpResponseInit } from '@azure/functions';
import { app } from '../shared/functions-app';
import { openAPIDocument } from '../shared/http/openapi';
import { jsonResponse } from '../shared/http/responses';

/** GET /api/openapi.json: the OpenAPI 3.1 document, generated from the request schemas. Needs no key. */
export function createOpenAPIHandler() {
  return (): Promise<HttpResponseInit> =>
    Promise.resolve(jsonResponse(200, openAPIDocument(), { 'cache-control': 'public, max-age=300' }));
}

// Needs no production services (no configuration): the document is the same everywhere.
const handler = createOpenAPIHandler();

app.http('openapi-get', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler,
});
