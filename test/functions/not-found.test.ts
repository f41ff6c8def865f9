import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { createNotFoundHandler } from '../../functions/zz-not-found';
import { bodyText, header } from './http';

const handler = createNotFoundHandler();

describe('the catch-all not-found function', () => {
  it.each(['GET', 'POST', 'DELETE'] as const)('answers %s with 404 not_found in the error body', async (method) => {
    const request = new HttpRequest({
      method,
      url: 'http://localhost:7071/api/v2/chat?code=secret-key',
      headers: { 'x-request-id': 'abc-123' },
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
