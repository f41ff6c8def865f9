/**
 * Issue 17, point 4: the local host as a sound HTTP server, tried as an attacker would try `npm start`. After each
 * attack, the next client is answered. The limits are short so that timeouts show in milliseconds. Run by two test
 * files: with requests handed to the library's proxy in-process (the default) and over the loopback hop.
 */
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHostLogger } from '../../local/host';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';
import { RawClient, statusOf } from './raw-client';

/** The whole suite, against a backend whose host reaches the library's proxy the `libraryProxy` way. */
export function hostileClientTests(libraryProxy: 'in-process' | 'http'): void {
  const limits = { headersTimeoutMs: 1000, requestTimeoutMs: 2000, bodyIdleTimeoutMs: 300 };
  const logs: { level: 'info' | 'warn' | 'error'; message: string }[] = [];
  const logWaiters = new Set<() => void>();
  const logger: LocalHostLogger = {
    info: (message) => record('info', message),
    warn: (message) => record('warn', message),
    error: (message) => record('error', message),
  };
  function record(level: 'info' | 'warn' | 'error', message: string): void {
    logs.push({ level, message });
    for (const wake of logWaiters) wake();
  }

  let backend: Backend;
  beforeAll(async () => {
    backend = await startBackend({}, { limits, logger, libraryProxy });
  });
  afterAll(async () => {
    await backend.close();
  });

  const chat = JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] });
  const json = { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY };

  /** A chat from a new client on a new connection: its status, or a rejection after the guard. */
  function nextClientChat(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${backend.host.url}/api/chat`, { method: 'POST', headers: json, agent: false });
      req.setTimeout(10_000, () => req.destroy(new Error('the next client got no answer in 10 s')));
      req.once('error', reject);
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
      req.end(chat);
    });
  }

  /** Resolves when `count` log lines match, or rejects after the guard. */
  function logged(pattern: RegExp, count: number, guardMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (logs.filter((l) => pattern.test(l.message)).length < count) return;
        done();
        resolve();
      };
      const guard = setTimeout(() => {
        done();
        reject(new Error(`fewer than ${count} log lines match ${String(pattern)}`));
      }, guardMs);
      const done = () => {
        clearTimeout(guard);
        logWaiters.delete(check);
      };
      logWaiters.add(check);
      check();
    });
  }

  function chunked(path: string, method = 'GET', headers = ''): string {
    return `${method} ${path} HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n${headers}\r\n`;
  }

  describe('a client that sends more than it should', () => {
    it('answers a 3 MB body with 413, and the same client’s next two chats (on its pooled connection) with 200', async () => {
      const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(3_000_000) }] });
      const rejected = await fetch(`${backend.host.url}/api/chat`, { method: 'POST', headers: json, body: big });
      expect(rejected.status).toBe(413);
      expect(await rejected.json()).toMatchObject({ error: { code: 'payload_too_large' } });
      for (const _ of [1, 2]) {
        const next = await fetch(`${backend.host.url}/api/chat`, { method: 'POST', headers: json, body: chat });
        expect(next.status).toBe(200);
        await next.arrayBuffer();
      }
    });

    it.each([
      ['a declared 3 MB body', 'content-length: 3000000\r\n\r\n{"messages":', ''],
      [
        'a chunked body past the limit',
        'transfer-encoding: chunked\r\n\r\n',
        `40000\r\n${' '.repeat(0x40000)}\r\n`.repeat(2),
      ],
    ])('answers %s with 413 before it is all sent, then closes the connection', async (_name, framing, body) => {
      const client = await RawClient.connect(backend.host.port);
      await client.write(
        `POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-functions-key: ${FUNCTION_KEY}\r\n${framing}${body}`,
      );
      await client.closedWithin(5000);
      expect(statusOf(client.text)).toBe(413);
      expect(client.text).toMatch(/connection: close/i);
      expect(client.text).toContain('"code":"payload_too_large"');
    });

    it('keeps the connection after a 401 to a small declared body and answers the next request on it', async () => {
      const client = await RawClient.connect(backend.host.port);
      const body = '{"messages":[]}';
      await client.write(
        `POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-functions-key: wrong\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      const first = await client.until(/\r\n\r\n[\s\S]*"requestId":"[^"]*"\}\}/);
      expect(statusOf(first)).toBe(401);
      expect(first).toMatch(/connection: keep-alive/i);
      await client.write('GET /api/health HTTP/1.1\r\nhost: localhost\r\n\r\n');
      const both = await client.until(/HTTP\/1\.1 401[\s\S]*HTTP\/1\.1 200/);
      expect(both).toMatch(/HTTP\/1\.1 200/);
      client.destroy();
    });

    it('keeps the connection after the app answers before the body has arrived (415), drains it, and answers the next request', async () => {
      const client = await RawClient.connect(backend.host.port);
      const body = '{"messages":[]}';
      await client.write(
        `POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\nx-functions-key: ${FUNCTION_KEY}\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      // The app refuses the content type before reading the body; the body comes only after the answer.
      const first = await client.until(/\r\n\r\n[\s\S]*"requestId":"[^"]*"\}\}/);
      expect(statusOf(first)).toBe(415);
      expect(first).toMatch(/connection: keep-alive/i);
      await client.write(body);
      await client.write('GET /api/health HTTP/1.1\r\nhost: localhost\r\n\r\n');
      const both = await client.until(/HTTP\/1\.1 415[\s\S]*HTTP\/1\.1 200/);
      expect(both).toMatch(/HTTP\/1\.1 200/);
      expect(client.destroyed).toBe(false);
      client.destroy();
    });

    it.each(['//127.0.0.1:9/api/chat', 'http://127.0.0.1:9/api/chat'])(
      'refuses the request target %s with 400 (this host is not a proxy), and the next client’s chat gets 200',
      async (target) => {
        const client = await RawClient.connect(backend.host.port);
        await client.write(
          `POST ${target} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-functions-key: ${FUNCTION_KEY}\r\ncontent-length: ${chat.length}\r\n\r\n${chat}`,
        );
        const answer = await client.until(/\r\n\r\n[\s\S]*"requestId":"[^"]*"\}\}/);
        expect(statusOf(answer)).toBe(400);
        expect(answer).toContain('"code":"invalid_request"');
        await client.closedWithin(2000);
        expect(await nextClientChat()).toBe(200);
      },
    );

    it('refuses a chunked GET /api/health with a body (400, connection closed), and the next client’s chat gets 200', async () => {
      const client = await RawClient.connect(backend.host.port);
      const before = logs.length;
      await client.write(`${chunked('/api/health')}5\r\nhello\r\n0\r\n\r\n`);
      await client.closedWithin(5000);
      expect(statusOf(client.text)).toBe(400);
      expect(client.text).toMatch(/connection: close/i);
      expect(client.text).toContain('"code":"invalid_request"');
      expect(await nextClientChat()).toBe(200);
      // The library's proxy never saw the body as a request of its own.
      expect(logs.slice(before).filter((l) => l.level === 'error')).toEqual([]);
    });

    it.each(['/api/health', '/api/web/'])(
      'refuses a chunked 3 MB body to GET %s at once, not after minutes, and the next client’s chat gets 200',
      async (path) => {
        const client = await RawClient.connect(backend.host.port);
        await client.write(chunked(path));
        const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
        for (let sent = 0; sent < 3_000_000 && !client.destroyed; sent += 64 * 1024) await client.write(chunk);
        await client.closedWithin(5000);
        expect(statusOf(client.text)).toBe(400);
        expect(await nextClientChat()).toBe(200);
      },
    );

    it('answers a chunked 3 MB chat body with 413, and the next client’s chat gets 200', async () => {
      const piece = new TextEncoder().encode('x'.repeat(64 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"messages":[{"role":"user","content":"'));
          sent += piece.byteLength;
          if (sent > 3_000_000) controller.close();
          else controller.enqueue(piece);
        },
      });
      const rejected = await fetch(`${backend.host.url}/api/chat`, {
        method: 'POST',
        headers: json,
        body,
        duplex: 'half',
      });
      expect(rejected.status).toBe(413);
      await rejected.arrayBuffer();
      expect(await nextClientChat()).toBe(200);
    });

    it('answers a chat with charset=utf-16 with 415 in the error body', async () => {
      const response = await fetch(`${backend.host.url}/api/chat`, {
        method: 'POST',
        headers: { ...json, 'content-type': 'application/json; charset=utf-16' },
        body: Buffer.from(chat, 'utf16le'),
      });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    });
  });

  describe('connections to the library’s proxy', () => {
    it(`${libraryProxy === 'http' ? 'are reused after exchanges that ended in step: 5 chats open at most 1' : 'are not made at all: requests are handed over in-process'}`, async () => {
      const proxyPort = Number(new URL(backend.host.proxyUri ?? 'http://x:0').port);
      let opened = 0;
      const count = (message: unknown) => {
        const socket = (message as { socket: Socket }).socket;
        socket.once('connect', () => (opened += socket.remotePort === proxyPort ? 1 : 0));
      };
      diagnostics.subscribe('net.client.socket', count);
      try {
        for (let i = 0; i < 5; i++) expect(await nextClientChat()).toBe(200);
      } finally {
        diagnostics.unsubscribe('net.client.socket', count);
      }
      expect(proxyPort).toBeGreaterThan(0);
      expect(opened).toBeLessThanOrEqual(libraryProxy === 'http' ? 1 : 0);
    });
  });

  describe('a client that stalls', () => {
    it('answers 408 to 25 connections that stop mid-body and closes them, logging warnings, not errors', async () => {
      const before = logs.length;
      const head = `POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-functions-key: ${FUNCTION_KEY}\r\ncontent-length: 1000\r\n\r\n{"messages"`;
      const clients = await Promise.all(Array.from({ length: 25 }, () => RawClient.connect(backend.host.port)));
      await Promise.all(clients.map((client) => client.write(head)));
      // Sooner than requestTimeoutMs: the silence closed them, not the overall limit.
      await Promise.all(clients.map((client) => client.closedWithin(limits.requestTimeoutMs - 500)));
      for (const client of clients) {
        expect(statusOf(client.text)).toBe(408);
        expect(client.text).toContain('"code":"request_timeout"');
      }
      // Each invocation ends as a client that left (the app's 499 client_closed), a warning.
      await logged(/499 client_closed/, 25);
      const since = logs.slice(before);
      expect(since.filter((l) => l.level === 'error')).toEqual([]);
      expect(since.filter((l) => l.level === 'warn' && /499 client_closed/.test(l.message))).toHaveLength(25);
      expect(await nextClientChat()).toBe(200);
    });

    it('closes a connection whose headers do not arrive within headersTimeoutMs, with 408', async () => {
      const client = await RawClient.connect(backend.host.port);
      await client.write('GET /api/health HTTP/1.1\r\nhost: local');
      await client.closedWithin(5000);
      expect(statusOf(client.text)).toBe(408);
      expect(await nextClientChat()).toBe(200);
    });

    it('closes a request that trickles in for longer than requestTimeoutMs, with 408', async () => {
      const client = await RawClient.connect(backend.host.port);
      await client.write(
        `POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-functions-key: ${FUNCTION_KEY}\r\ncontent-length: 1000\r\n\r\n`,
      );
      // One byte every 100 ms: never idle for bodyIdleTimeoutMs, but never done either.
      const trickle = setInterval(() => void client.write(' '), 100);
      await client.closedWithin(5000).finally(() => clearInterval(trickle));
      expect(statusOf(client.text)).toBe(408);
      expect(await nextClientChat()).toBe(200);
    });
  });

  describe('the demo page through the host', () => {
    it('answers HEAD /api/web/ with the headers of a GET and no body', async () => {
      const head = await fetch(`${backend.host.url}/api/web/`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
      expect(await head.text()).toBe('');
    });
  });
}
