/**
 * 401 and 404 through the local host carry the backend's one error body, so the official openai client shows
 * what went wrong instead of "401 status code (no body)".
 */
import OpenAI, { AuthenticationError, NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

function client(headers: Record<string, string>): OpenAI {
  return new OpenAI({
    baseURL: `${backend.host.url}/api/v1/`,
    apiKey: 'unused',
    defaultHeaders: headers,
    maxRetries: 0,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
}

const ask = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('401 from the local host through the openai client', () => {
  it('says the function key is missing, with code unauthorized and the request id', async () => {
    const error = await rejectionOf(client({}).chat.completions.create(ask));
    expect(error).toBeInstanceOf(AuthenticationError);
    const auth = error as AuthenticationError;
    expect(auth.message).toBe(
      '401 This endpoint needs a function key: send it in the x-functions-key header or the code query parameter.',
    );
    expect(auth.code).toBe('unauthorized');
    expect(auth.requestID).toMatch(/^[0-9a-f-]{36}$/);
    expect(auth.error).toMatchObject({ requestId: auth.requestID });
  });

  it('says the function key was rejected when it is wrong', async () => {
    const error = await rejectionOf(client({ 'x-functions-key': 'wrong' }).chat.completions.create(ask));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).message).toMatch(/^401 The function key was rejected: /);
    expect((error as AuthenticationError).code).toBe('unauthorized');
  });
});

describe('404 for routes no function serves', () => {
  it('gives the openai client a NotFoundError with code not_found', async () => {
    const error = await rejectionOf(client({ 'x-functions-key': FUNCTION_KEY }).get('/embeddings'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toBe(
      '404 No endpoint matches GET /api/v1/embeddings. The API is described at GET /api/openapi.json.',
    );
    expect((error as NotFoundError).code).toBe('not_found');
  });

  it.each(['GET', 'POST'])('answers %s on an unknown route under /api with the error body', async (method) => {
    const response = await fetch(`${backend.host.url}/api/nope/deeper`, {
      method,
      headers: { 'x-request-id': 'unknown-route-1' },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-request-id')).toBe('unknown-route-1');
    expect(await response.json()).toEqual({
      error: {
        code: 'not_found',
        message: `No endpoint matches ${method} /api/nope/deeper. The API is described at GET /api/openapi.json.`,
        requestId: 'unknown-route-1',
      },
    });
  });

  it.each([
    ['GET', '/api/chat', 'POST'],
    ['PUT', '/api/v1/chat/completions', 'POST'],
    ['POST', '/api/health', 'GET'],
    ['POST', '/api/conversations/abc', 'GET, DELETE, PATCH'],
  ])(
    'answers %s %s, a known route with the wrong method, with 405 and Allow: %s, without asking for a key',
    async (method, route, allow) => {
      const response = await fetch(`${backend.host.url}${route}`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')?.split(', ').sort()).toEqual(allow.split(', ').sort());
      expect(await response.json()).toEqual({
        error: {
          code: 'method_not_allowed',
          message: `${route} takes ${response.headers.get('allow')}, not ${method}. The API is described at GET /api/openapi.json.`,
          requestId: response.headers.get('x-request-id'),
        },
      });
    },
  );

  it('lets the openai client see 405 for a known route with the wrong method, as an APIError with the code', async () => {
    const error = await rejectionOf(client({}).get('/chat/completions'));
    expect(error).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('answers a CORS preflight, with no Host.CORS set, with 403 naming the setting instead of a bare 404', async () => {
    const response = await fetch(`${backend.host.url}/api/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(403);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('origin_not_allowed');
    expect(error.message).toMatch(
      /http:\/\/localhost:5173 is not allowed.*"CORS".*local\.settings\.json.*LOCAL_CORS_ORIGINS/,
    );
  });

  it('answers a path outside the route prefix from the host itself, in the same shape', async () => {
    const response = await fetch(`${backend.host.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: 'not_found',
        message: 'No function matches GET /nope: check the route and the method.',
        requestId: response.headers.get('x-request-id'),
      },
    });
  });

  it('leaves every other route to its own function', async () => {
    expect((await fetch(`${backend.host.url}/api/health`)).status).toBe(200);
    expect((await fetch(`${backend.host.url}/api/openapi.json`)).status).toBe(200);
    const page = await fetch(`${backend.host.url}/api/web/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const models = await client({ 'x-functions-key': FUNCTION_KEY }).models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o');
  });

  it('names the catch-all so that it sorts after every other function, as Azure tries routes in name order', () => {
    // The Functions host sorts functions by name (ordinal, ignoring case) and takes the first route that matches.
    const names = backend.host.functions.map((f) => f.name.toUpperCase());
    const catchAll = backend.host.functions.find((f) => f.route === '/api/{*path}');
    expect(catchAll?.name).toBe('zz-not-found');
    for (const name of names) expect(name <= 'ZZ-NOT-FOUND').toBe(true);
  });
});
