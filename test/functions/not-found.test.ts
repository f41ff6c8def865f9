import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { createNotFoundHandler } from '../../functions/zz-not-found';
import { bodyText, header } from './http';

const routes = [
  { template: 'chat', methods: ['POST'] },
  { template: 'conversations/{id}', methods: ['GET'] },
  { template: 'conversations/{id}', methods: ['DELETE', 'PATCH'] },
  { template: 'web/{*path}', methods: ['GET', 'HEAD'] },
];
const handler = createNotFoundHandler({ routes: () => routes });

describe('the catch-all not-found function', () => {
  it.each(['GET', 'POST', 'DELETE'] as const)('answers %s with 404 not_found in the error body', async (method) => {
    const request = new HttpRequest({
      method,
      url: 'http://localhost:7071/api/v2/chat?code=secret-key',
      headers: { 'x-request-id': 'abc-123' },
      params: { path: 'v2/chat' },
    });
    const response = await handler(request);
    expect(response.status).toBe(404);
    expect(header(response, 'content-type')).toMatch(/^application\/json/);
    expect(header(response, 'x-request-id')).toBe('abc-123');
    const text = await bodyText(response);
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'not_found',
        message: `No endpoint matches ${method} /api/v2/chat. The API is described at GET /api/openapi.json.`,
        requestId: 'abc-123',
      },
    });
    expect(text).not.toContain('secret-key');
  });
});

describe('the catch-all for a known route with another method', () => {
  it.each([
    ['GET', 'chat', 'POST'],
    ['PUT', 'conversations/abc', 'GET, DELETE, PATCH'],
    ['POST', 'web/index.html', 'GET, HEAD'],
  ] as const)('answers %s /api/%s with 405 method_not_allowed and Allow: %s', async (method, path, allow) => {
    const request = new HttpRequest({ method, url: `http://localhost:7071/api/${path}`, params: { path } });
    const response = await handler(request);
    expect(response.status).toBe(405);
    expect(header(response, 'allow')).toBe(allow);
    expect(JSON.parse(await bodyText(response))).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});

describe('the catch-all for a CORS preflight (CORS is not on for that origin)', () => {
  it('answers 403 origin_not_allowed naming Host.CORS, LOCAL_CORS_ORIGINS and corsAllowedOrigins', async () => {
    const request = new HttpRequest({
      method: 'OPTIONS',
      url: 'http://localhost:7071/api/chat',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      params: { path: 'chat' },
    });
    const response = await handler(request);
    expect(response.status).toBe(403);
    const { error } = JSON.parse(await bodyText(response)) as { error: { code: string; message: string } };
    expect(error.code).toBe('origin_not_allowed');
    for (const name of [
      'http://localhost:5173',
      'Host',
      'CORS',
      'local.settings.json',
      'LOCAL_CORS_ORIGINS',
      'corsAllowedOrigins',
    ])
      expect(error.message).toContain(name);
  });

  it('does not echo an origin that is not a plain origin', async () => {
    const request = new HttpRequest({
      method: 'OPTIONS',
      url: 'http://localhost:7071/api/chat',
      headers: { origin: 'http://x"><script>', 'access-control-request-method': 'POST' },
      params: { path: 'chat' },
    });
    expect(await bodyText(await handler(request))).not.toContain('script');
  });
});
