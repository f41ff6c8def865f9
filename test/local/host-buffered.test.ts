import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startLocalHost, type LocalHost } from '../../local/host';
import { recordedEvents } from './fixtures/signals';

// One host per process (the core module hook and @azure/functions state are process-global); vitest gives each
// test file its own module state, so this file owns the non-streaming host.
let host: LocalHost;
const logs: string[] = [];
const capturingLogger = {
  info: (message: string) => logs.push(`info ${message}`),
  warn: (message: string) => logs.push(`warn ${message}`),
  error: (message: string) => logs.push(`error ${message}`),
};

beforeAll(async () => {
  host = await startLocalHost({
    entry: 'test/local/fixtures/buffered/*.ts',
    port: 0,
    functionKeys: ['fn-key'],
    masterKey: 'master-key',
    cors: { allowedOrigins: ['http://app.example'] },
    logger: capturingLogger,
  });
});

afterAll(async () => {
  await host?.close();
});

interface ErrorFields {
  readonly code: string;
  readonly message: string;
  readonly requestId: string;
}

async function errorOf(res: Response): Promise<ErrorFields> {
  return ((await res.json()) as { error: ErrorFields }).error;
}

describe('startLocalHost (non-streaming)', () => {
  it('registers every function of every file matched by the glob entry', () => {
    expect(host.functions.map((f) => f.name).sort()).toEqual([
      'admin-ping',
      'boom',
      'echo',
      'items-get',
      'items-list',
      'pages',
      'secure',
    ]);
    expect(host.functions.find((f) => f.name === 'items-get')).toEqual({
      name: 'items-get',
      route: '/api/items/{id}/{*rest}',
      methods: ['GET', 'DELETE'],
      authLevel: 'anonymous',
    });
    expect(host.url).toBe(`http://127.0.0.1:${host.port}`);
  });

  it('passes route parameters, catch-all, query and headers to the handler', async () => {
    const res = await fetch(`${host.url}/api/items/42/a/b?q=hello`, { headers: { 'x-test': 'yes' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({
      function: 'items-get',
      method: 'GET',
      id: '42',
      rest: 'a/b',
      q: 'hello',
      url: `${host.url}/api/items/42/a/b?q=hello`,
      header: 'yes',
    });
  });

  it('prefers a literal route over a parameterised one and matches case-insensitively', async () => {
    const res = await fetch(`${host.url}/API/Items`);
    expect(await res.json()).toEqual({ list: true });
  });

  it('honours optional constrained parameters', async () => {
    expect(await (await fetch(`${host.url}/api/pages/3`)).json()).toEqual({ page: '3' });
    expect(await (await fetch(`${host.url}/api/pages`)).json()).toEqual({ page: null });
    expect((await fetch(`${host.url}/api/pages/three`)).status).toBe(404);
  });

  it('accepts only the methods of the binding and answers 404 otherwise, as the Functions host does', async () => {
    expect((await fetch(`${host.url}/api/items/1`, { method: 'DELETE' })).status).toBe(200);
    const wrongMethod = await fetch(`${host.url}/api/items/1`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(404);
    expect(await errorOf(wrongMethod)).toMatchObject({ code: 'not_found', message: expect.stringContaining('PUT') });
  });

  it.each(['GET', 'POST'])('answers %s on an unknown route with 404 not_found in the error body', async (method) => {
    const res = await fetch(`${host.url}/api/nope?code=fn-key`, {
      method,
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const error = await errorOf(res);
    expect(error).toEqual({
      code: 'not_found',
      message: `No function matches ${method} /api/nope: check the route and the method.`,
      requestId: res.headers.get('x-request-id'),
    });
    expect(error.message).not.toContain('fn-key');
  });

  it('round-trips a JSON body with status, headers and cookies', async () => {
    const res = await fetch(`${host.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world', n: [1, 2] }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(res.headers.get('set-cookie')).toBe('session=a%20b; Path=/; HttpOnly; SameSite=Lax');
    expect(await res.json()).toEqual({ received: { hello: 'world', n: [1, 2] }, contentType: 'application/json' });
  });

  it('requires a function key for function-level functions, from the header or the code query parameter', async () => {
    expect((await fetch(`${host.url}/api/secure`)).status).toBe(401);
    expect((await fetch(`${host.url}/api/secure`, { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);

    const byHeader = await fetch(`${host.url}/api/secure`, { headers: { 'x-functions-key': 'fn-key' } });
    expect(await byHeader.text()).toBe('secret for header key');
    const byQuery = await fetch(`${host.url}/api/secure?code=fn-key`);
    expect(await byQuery.text()).toBe('secret for query key');
    const byMaster = await fetch(`${host.url}/api/secure?code=master-key`);
    expect(byMaster.status).toBe(200);
  });

  it('answers 401 unauthorized saying the key is missing, with the request id the caller sent', async () => {
    const res = await fetch(`${host.url}/api/secure`, { headers: { 'x-request-id': 'req-42' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(await errorOf(res)).toEqual({
      code: 'unauthorized',
      message: 'This endpoint needs a function key: send it in the x-functions-key header or the code query parameter.',
      requestId: 'req-42',
    });
  });

  it('answers 401 unauthorized saying the key was rejected, with a new request id when none was sent', async () => {
    const res = await fetch(`${host.url}/api/secure?code=wrong`);
    expect(res.status).toBe(401);
    const error = await errorOf(res);
    expect(error).toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/^The function key was rejected: /),
    });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(error.requestId);
    expect(error.message).not.toContain('wrong');
  });

  it('accepts only the master key for admin-level functions', async () => {
    const functionKey = await fetch(`${host.url}/api/admin/ping?code=fn-key`);
    expect(functionKey.status).toBe(401);
    expect((await errorOf(functionKey)).message).toBe(
      'The function key was rejected: this endpoint takes only the master key.',
    );
    const res = await fetch(`${host.url}/api/admin/ping`, { headers: { 'x-functions-key': 'master-key' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('pong');
  });

  it('answers 500 internal_error in the error body when the handler throws, without its exception', async () => {
    const res = await fetch(`${host.url}/api/boom`, { headers: { origin: 'http://app.example' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const error = await errorOf(res);
    expect(error).toMatchObject({ code: 'internal_error', requestId: res.headers.get('x-request-id') });
    expect(error.message).not.toContain('kaboom');
  });

  it('runs appStart at startup and pre/postInvocation hooks around each invocation with shared hookData', async () => {
    expect(recordedEvents()[0]).toBe('appStart');
    await fetch(`${host.url}/api/items`);
    await fetch(`${host.url}/api/boom`);
    const events = recordedEvents();
    expect(events).toContain('pre:items-list');
    expect(events).toContain('post:items-list:ok:shared');
    expect(events).toContain('post:boom:error:shared');
  });

  it('logs one Executing and one Executed line per invocation, like func', async () => {
    logs.length = 0;
    await fetch(`${host.url}/api/items`);
    await fetch(`${host.url}/api/boom`);
    const id = /Id=([0-9a-f-]{36})/;
    expect(logs[0]).toMatch(
      /^info Executing 'Functions\.items-list' \(Reason='This function was programmatically called via the host APIs\.', Id=[0-9a-f-]{36}\)$/,
    );
    expect(logs[1]).toBe('info [hooked] listing items');
    expect(logs[2]).toMatch(/^info Executed 'Functions\.items-list' \(Succeeded, Id=[0-9a-f-]{36}, Duration=\d+ms\)$/);
    expect(id.exec(logs[2] ?? '')?.[1]).toBe(id.exec(logs[0] ?? '')?.[1]);
    expect(logs).toContainEqual(expect.stringMatching(/^error Executed 'Functions\.boom' \(Failed, Id=.*\)$/));
    expect(logs).toContainEqual(expect.stringMatching(/kaboom/));
  });

  it('answers a CORS preflight from an allowed origin with 204 and echoes the requested method and headers', async () => {
    const res = await fetch(`${host.url}/api/echo`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-custom',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,x-custom');
  });

  it('adds Access-Control-Allow-Origin for allowed origins only', async () => {
    const allowed = await fetch(`${host.url}/api/items`, { headers: { origin: 'http://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const denied = await fetch(`${host.url}/api/items`, { headers: { origin: 'http://evil.example' } });
    expect(denied.status).toBe(200);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${host.url}/api/echo`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a second host in the same process', async () => {
    await expect(startLocalHost({ entry: 'test/local/fixtures/buffered/*.ts', logger: silentLogger })).rejects.toThrow(
      /one host per process/,
    );
  });
});
