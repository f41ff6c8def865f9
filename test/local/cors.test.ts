import { describe, expect, it } from 'vitest';
import { corsPreflightHeaders, corsResponseHeaders, isOriginAllowed, isPreflight } from '../../local/host/cors';

describe('isOriginAllowed', () => {
  it.each([
    [['https://app.example'], 'https://app.example', false, true],
    [['https://app.example/'], 'https://APP.example', false, true],
    [['https://app.example'], 'https://other.example', false, false],
    [['*'], 'http://anything', false, true],
    [['https://*.example.com'], 'https://a.example.com', false, true],
    [['https://*.example.com'], 'https://example.com', false, false],
    [['https://*.example.com'], 'http://a.example.com', false, false],
    // An origin is scheme://host[:port] and nothing else: a path cannot smuggle in the allowed suffix.
    [['https://*.example.com'], 'https://evil.com/.example.com', false, false],
    [['https://app.example'], 'https://app.example/path', false, false],
    [['https://app.example'], 'https://user@app.example', false, false],
    [['*'], 'null', false, false],
    // With credentials only exact origins count: a wildcard never combines with credentials.
    [['*'], 'https://app.example', true, false],
    [['https://*.example.com'], 'https://a.example.com', true, false],
    [['https://app.example'], 'https://app.example', true, true],
  ])('with %j allows %j (credentials %j): %j', (allowedOrigins, origin, supportCredentials, expected) => {
    expect(isOriginAllowed(origin, { allowedOrigins, supportCredentials })).toBe(expected);
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

  it('never reflects any origin with credentials: * then allows no origin at all', () => {
    expect(corsResponseHeaders('https://a', { allowedOrigins: ['*'], supportCredentials: true })).toEqual({
      vary: 'Origin',
    });
  });

  it('echoes an exact origin and allows credentials when credentials are supported', () => {
    expect(corsResponseHeaders('https://a', { allowedOrigins: ['https://a'], supportCredentials: true })).toEqual({
      'access-control-allow-origin': 'https://a',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('says the answer varies on Origin when an origin list decides, even for a disallowed or missing origin', () => {
    expect(corsResponseHeaders('https://b', { allowedOrigins: ['https://a'] })).toEqual({ vary: 'Origin' });
    expect(corsResponseHeaders(undefined, { allowedOrigins: ['https://a'] })).toEqual({ vary: 'Origin' });
  });

  it('adds nothing without CORS settings, or without an Origin when any origin is allowed', () => {
    expect(corsResponseHeaders('https://a', undefined)).toEqual({});
    expect(corsResponseHeaders(undefined, { allowedOrigins: ['*'] })).toEqual({});
  });
});

describe('corsPreflightHeaders', () => {
  const cors = { allowedOrigins: ['https://a'] };

  it('echoes the requested headers as App Service does when no header list is configured', () => {
    const request = { origin: 'https://a', method: 'POST', headers: 'x-a, x-b', routeMethods: ['POST'] };
    expect(corsPreflightHeaders(request, cors)['access-control-allow-headers']).toBe('x-a, x-b');
  });

  it('allows a method the route accepts and every request header asked for, as App Service does', () => {
    // What the official openai SDK asks for from a browser, with the README's own headers.
    const asked =
      'authorization,content-type,idempotency-key,x-conversation-id,x-stainless-arch,x-stainless-lang,' +
      'x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,' +
      'x-stainless-runtime-version,x-stainless-timeout';
    const request = { origin: 'https://a', method: 'post', headers: asked, routeMethods: ['POST'] };
    expect(corsPreflightHeaders(request, cors)).toEqual({
      'access-control-allow-origin': 'https://a',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': asked,
      vary: 'Origin',
    });
  });

  it('allows no method the route does not accept', () => {
    const request = { origin: 'https://a', method: 'DELETE', headers: undefined, routeMethods: ['POST'] };
    expect(corsPreflightHeaders(request, cors)).toEqual({ vary: 'Origin' });
  });

  it('gives no CORS headers to a disallowed origin', () => {
    const request = { origin: 'https://b', method: 'POST', headers: undefined, routeMethods: ['POST'] };
    expect(corsPreflightHeaders(request, cors)).toEqual({ vary: 'Origin' });
  });
});

describe('isPreflight', () => {
  it('needs OPTIONS, an Origin and Access-Control-Request-Method', () => {
    expect(isPreflight('OPTIONS', { origin: 'o', 'access-control-request-method': 'GET' })).toBe(true);
    expect(isPreflight('OPTIONS', { origin: 'o' })).toBe(false);
    expect(isPreflight('GET', { origin: 'o', 'access-control-request-method': 'GET' })).toBe(false);
  });
});
