import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startLocalHost, type LocalHost } from '../../local/host';
import { signal } from './fixtures/signals';

// The fixture calls app.setup({ enableHttpStream: true }), which is process-global: this file owns that host.
let host: LocalHost;

beforeAll(async () => {
  host = await startLocalHost({
    entry: 'test/local/fixtures/streaming/app.ts',
    port: 0,
    cors: { allowedOrigins: ['*'] },
    logger: silentLogger,
  });
});

afterAll(async () => {
  await host?.close();
});

describe('startLocalHost (HTTP streaming through the library proxy)', () => {
  it('delivers the first chunk before the handler has produced the second one', async () => {
    const gate = signal('stream.second');
    const res = await fetch(`${host.url}/api/stream`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    // As the Functions host: the invocation's id reaches the client.
    expect(res.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();

    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe('first\n');
    expect(gate.released).toBe(false);

    gate.release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toBe('second\n');
  });

  it('passes route parameters, query and headers and round-trips a JSON body', async () => {
    const get = await fetch(`${host.url}/api/things/7?q=x`, { headers: { 'x-test': 'yes' } });
    expect(await get.json()).toEqual({ id: '7', q: 'x', header: 'yes', received: null });

    const post = await fetch(`${host.url}/api/things/8`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(post.status).toBe(201);
    expect(post.headers.get('content-type')).toContain('application/json');
    expect(await post.json()).toEqual({ id: '8', q: null, header: null, received: { a: 1 } });
  });

  it('answers 404 for unknown routes and wrong methods without invoking anything', async () => {
    const missing = await fetch(`${host.url}/api/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${host.url}/api/stream`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers 500 internal_error in the error body when the handler throws', async () => {
    const res = await fetch(`${host.url}/api/boom`, { headers: { 'x-request-id': 'boom-1' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('boom-1');
    expect(await res.json()).toEqual({
      error: { code: 'internal_error', message: expect.stringContaining('failed'), requestId: 'boom-1' },
    });
  });

  it('adds the CORS origin header to streamed responses', async () => {
    const res = await fetch(`${host.url}/api/things/1`, { headers: { origin: 'http://anywhere.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    await res.arrayBuffer();
  });

  it('propagates a client disconnect to the handler through the proxied request', async () => {
    const aborted = signal('upload.aborted');
    const req = http.request(`${host.url}/api/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.on('error', () => undefined);
    const firstChunk = new Promise<string>((resolve, reject) => {
      req.once('response', (res) => res.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      req.once('error', reject);
    });
    req.write('hello');

    expect(await firstChunk).toBe('got:hello\n');
    expect(aborted.released).toBe(false);
    req.destroy();

    // Resolves only when the handler's read of request.body fails because the upstream connection was cut.
    await aborted.wait();
    expect(aborted.released).toBe(true);
  });

  it('keeps serving after a client disconnect', async () => {
    const res = await fetch(`${host.url}/api/things/9`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: '9' });
  });
});
