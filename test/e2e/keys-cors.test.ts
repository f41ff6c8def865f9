/**
 * Function keys and CORS through the local host, with the CORS origins of local.settings.json.example
 * (`Host.CORS`), as `npm start` and `func start` apply them.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLocalSettings } from '../../local/host';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

const ALLOWED = 'http://localhost:5173';

let backend: Backend;
beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'settings-'));
  copyFileSync('local.settings.json.example', path.join(dir, 'local.settings.json'));
  const { cors } = loadLocalSettings(dir);
  backend = await startBackend({}, { ...(cors ? { cors } : {}) });
});
afterAll(async () => {
  await backend.close();
});

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] });
const chatEndpoints = [
  ['POST', '/api/chat', chatBody],
  ['POST', '/api/chat/stream', chatBody],
  [
    'POST',
    '/api/v1/chat/completions',
    JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
  ],
  ['GET', '/api/v1/models', undefined],
] as const;

function call(method: string, route: string, body: string | undefined, headers: Record<string, string> = {}) {
  return fetch(`${backend.host.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

describe('function keys', () => {
  it.each(chatEndpoints)('%s %s answers 401 without a key and with a wrong one', async (method, route, body) => {
    expect((await call(method, route, body)).status).toBe(401);
    expect((await call(method, route, body, { 'x-functions-key': 'wrong' })).status).toBe(401);
  });

  it.each(chatEndpoints)('%s %s answers with the key in x-functions-key or ?code=', async (method, route, body) => {
    const byHeader = await call(method, route, body, { 'x-functions-key': FUNCTION_KEY });
    expect(byHeader.status).toBe(200);
    await byHeader.body?.cancel();
    const byQuery = await call(method, `${route}?code=${FUNCTION_KEY}`, body);
    expect(byQuery.status).toBe(200);
    await byQuery.body?.cancel();
  });

  it('lets health through without a key and shows no key or secret in it', async () => {
    const response = await fetch(`${backend.host.url}/api/health`);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of ['simulator-key', FUNCTION_KEY, 'apiKey', 'api-key']) expect(text).not.toContain(secret);
    expect(JSON.parse(text)).toMatchObject({ regions: [{ name: 'eastus2' }, { name: 'swedencentral' }] });
  });
});

describe('CORS from Host.CORS', () => {
  it('answers a preflight from an allowed origin, allowing the function key header', async () => {
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-functions-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(response.headers.get('access-control-allow-headers')).toContain('x-functions-key');
  });

  it('streams an answer to an allowed origin with its CORS header', async () => {
    const response = await call('POST', '/api/chat/stream', chatBody, {
      origin: ALLOWED,
      'x-functions-key': FUNCTION_KEY,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const last = JSON.parse((await response.text()).trim().split('\n').at(-1) ?? '{}') as unknown;
    expect(last).toMatchObject({ context: { region: 'eastus2' } });
  });

  it('allows every request header a preflight asks for, as App Service does (the openai SDK sends x-stainless-*)', async () => {
    const asked = 'authorization,content-type,idempotency-key,x-conversation-id,x-stainless-os,x-stainless-retry-count';
    const response = await fetch(`${backend.host.url}/api/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': asked },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-headers')).toBe(asked);
  });

  it('tells a preflight from another origin, with 403 and no CORS header, which setting allows it', async () => {
    const preflight = await fetch(`${backend.host.url}/api/chat`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const { error } = (await preflight.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('origin_not_allowed');
    expect(error.message).toContain('https://evil.example is not allowed');
    expect(error.message).toContain('local.settings.json');
    const response = await call('GET', '/api/health', undefined, { origin: 'https://evil.example' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
