import { describe, expect, it } from 'vitest';
import { corsPreflightHeaders, corsResponseHeaders, isOriginAllowed, isPreflight } from '../../local/host/cors';

describe('isOriginAllowed', () => {
  it.each([
    [['https://app.example'], 'https://app.example', true],
    [['https://app.example/'], 'https://APP.example', true],
    [['https://app.example'], 'https://other.example', false],
    [['*'], 'http://anything', true],
    [['https://*.example.com'], 'https://a.example.com', true],
    [['https://*.example.com'], 'https://example.com', false],
    [['https://*.example.com'], 'http://a.example.com', false],
  ])('with %j allows %j: %j', (allowedOrigins, origin, expected) => {
    expect(isOriginAllowed(origin, { allowedOrigins })).toBe(expected);
  });
});

describe('corsResponseHeaders', () => {
  it('echoes an allowed origin and varies on Origin', () => {
    expect(corsResponseHeaders('https://a', { allowedOrigins: ['https://a'] })).toEqual({
      'access-control-allow-origin': 'https://a',
      vary: 'Origin',
    });
  });

  it('answers * when any origin is allowed without credentials', () => {
    expect(corsResponseHeaders('https://a', { allowedOrigins: ['*'] })).toEqual({ 'access-control-allow-origin': '*' });
  });

  it('echoes the origin and allows credentials when credentials are supported', () => {
    expect(corsResponseHeaders('https://a', { allowedOrigins: ['*'], supportCredentials: true })).toEqual({
      'access-control-allow-origin': 'https://a',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('adds nothing without CORS settings, without an Origin or for a disallowed origin', () => {
    expect(corsResponseHeaders('https://a', undefined)).toEqual({});
    expect(corsResponseHeaders(undefined, { allowedOrigins: ['*'] })).toEqual({});
    expect(corsResponseHeaders('https://b', { allowedOrigins: ['https://a'] })).toEqual({});
  });
});

describe('corsPreflightHeaders', () => {
  it('echoes the requested method and headers for an allowed origin', () => {
    expect(corsPreflightHeaders('https://a', 'put', 'x-a, x-b', { allowedOrigins: ['https://a'] })).toEqual({
      'access-control-allow-origin': 'https://a',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'x-a, x-b',
      vary: 'Origin',
    });
  });

  it('gives no CORS headers to a disallowed origin', () => {
    expect(corsPreflightHeaders('https://b', 'PUT', undefined, { allowedOrigins: ['https://a'] })).toEqual({});
  });
});

describe('isPreflight', () => {
  it('needs OPTIONS, an Origin and Access-Control-Request-Method', () => {
    expect(isPreflight('OPTIONS', { origin: 'o', 'access-control-request-method': 'GET' })).toBe(true);
    expect(isPreflight('OPTIONS', { origin: 'o' })).toBe(false);
    expect(isPreflight('GET', { origin: 'o', 'access-control-request-method': 'GET' })).toBe(false);
  });
});
