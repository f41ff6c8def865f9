/**
 * A front-end on another origin calls the backend with the official openai SDK in headless Chromium, as the
 * README tells it to: `npm start`'s script (transpiled, in a process of its own, every port picked free) with the
 * page's origin in `Host.CORS` of local.settings.json, a signed-in user's access token from the local provider
 * as the SDK's apiKey, and `dangerouslyAllowBrowser: true`. The page comes from a second server on another port
 * and loads the SDK's own ESM files from node_modules (no bundler: the browser resolves their relative imports).
 */
import type { ChildProcess } from 'node:child_process';
import { createReadStream, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../transpile';
import { startBackendProcess, stopBackendProcess, transpiledApp } from '../e2e/backend-process';
import { useBrowser } from './browser';

const SDK_DIR = join(repoRoot, 'node_modules', 'openai');

let outDir = '';
let pageServer: Server | undefined;
let pageOrigin = '';
let backend: { url: string; child: ChildProcess; output: () => string } | undefined;

/** The front-end's own server: an empty page, and the SDK's ESM files under /openai/. */
function servePage(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>front-end</title>');
      return;
    }
    const file = normalize(join(SDK_DIR, path.replace(/^\/openai\//, '')));
    if (!path.startsWith('/openai/') || !file.startsWith(SDK_DIR + sep) || !file.endsWith('.mjs')) {
      res.writeHead(404).end();
      return;
    }
    try {
      statSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  pageServer = await servePage();
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  outDir = transpiledApp('openai-sdk-cors-');
  // As a developer allows their front-end's origin (local.settings.json.example lists localhost:5173).
  writeFileSync(join(outDir, 'local.settings.json'), JSON.stringify({ Values: {}, Host: { CORS: pageOrigin } }));
  backend = await startBackendProcess(outDir, {
    PORT: '0',
    SIMULATOR_PRIMARY_PORT: '0',
    SIMULATOR_SECONDARY_PORT: '0',
    IDENTITY_PROVIDER_PORT: '0',
    AZURITE_TABLE_PORT: '0',
    SIMULATOR_LATENCY: 'none',
  });
}, 90_000);

afterAll(async () => {
  if (backend) await stopBackendProcess(backend.child);
  await new Promise((resolve) => pageServer?.close(resolve));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A signed-in user's access token from the sign-in provider `npm start` runs (the URL it printed). */
async function userToken(user: string): Promise<string> {
  const provider = /Local sign-in provider at (http:\/\/\S+)/.exec(backend?.output() ?? '')?.[1];
  expect(provider, backend?.output()).toBeDefined();
  const response = await fetch(`${provider}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

interface PageResults {
  readonly error?: string;
  readonly chat?: string;
  readonly chatHeaders?: Record<string, string | null>;
  readonly stream?: { readonly text: string; readonly chunks: number };
  readonly responses?: string;
  readonly followUp?: string;
  readonly responsesStream?: string;
  readonly fetched?: Record<string, string | number | null>;
}

/**
 * What the page does, as browser code (this project's TypeScript has no DOM types): every call a front-end
 * makes, each result kept, the first failure returned as its message (the SDK's "Connection error." when CORS
 * refuses a request).
 */
function pageScript(base: string, token: string): string {
  return `(async () => {
    const out = {};
    try {
      const { default: OpenAI } = await import('/openai/index.mjs');
      const client = new OpenAI({ baseURL: ${JSON.stringify(`${base}/v1/`)}, apiKey: ${JSON.stringify(token)},
        dangerouslyAllowBrowser: true, maxRetries: 0 });
      const question = [{ role: 'user', content: 'What is the capital of France?' }];
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o', messages: question, store: true }).withResponse();
      out.chat = data.choices[0].message.content;
      out.chatHeaders = Object.fromEntries(['x-request-id', 'x-chat-region', 'x-conversation-id']
        .map((name) => [name, response.headers.get(name)]));
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: question, stream: true });
      out.stream = { text: '', chunks: 0 };
      for await (const chunk of stream) {
        out.stream.chunks += 1;
        out.stream.text += chunk.choices[0]?.delta?.content ?? '';
      }
      const first = await client.responses.create({ model: 'gpt-4o', input: 'Hello' });
      out.responses = first.output_text;
      const next = await client.responses.create({ model: 'gpt-4o', input: 'And then?', previous_response_id: first.id });
      out.followUp = next.output_text;
      const events = await client.responses.create({ model: 'gpt-4o', input: 'Hello', stream: true });
      out.responsesStream = '';
      for await (const event of events) if (event.type === 'response.output_text.delta') out.responsesStream += event.delta;
      const conversationId = out.chatHeaders['x-conversation-id'];
      const fetched = await fetch(${JSON.stringify(`${base}/v1/chat/completions`)}, {
        method: 'POST',
        headers: { authorization: 'Bearer ' + ${JSON.stringify(token)}, 'content-type': 'application/json',
          'x-conversation-id': conversationId, 'idempotency-key': 'browser-turn-2' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [...question,
          { role: 'assistant', content: out.chat }, { role: 'user', content: 'And of Spain?' }] }),
      });
      out.fetched = { status: fetched.status, 'x-conversation-id': fetched.headers.get('x-conversation-id'),
        'x-request-id': fetched.headers.get('x-request-id'), 'x-chat-region': fetched.headers.get('x-chat-region') };
      await fetched.text();
    } catch (error) {
      out.error = String(error && error.message || error);
    }
    return out;
  })()`;
}

describe('the openai SDK in a browser on another origin, with a signed-in user', { timeout: 60_000 }, () => {
  const browser = useBrowser();

  it('chats, streams, uses the Responses API and sends x-conversation-id and Idempotency-Key', async () => {
    const page = await browser().newPage();
    await page.goto(`${pageOrigin}/`);
    const token = await userToken('alice');
    const results = await page.evaluate<PageResults>(pageScript(backend!.url, token));
    await page.close();

    expect(results.error).toBeUndefined();
    expect(results.chat).toMatch(/\S/);
    // Cross-origin, a front-end reads only the headers the answer exposes.
    expect(results.chatHeaders?.['x-request-id']).toMatch(/\S/);
    expect(results.chatHeaders?.['x-chat-region']).toMatch(/^(eastus2|swedencentral)$/);
    expect(results.chatHeaders?.['x-conversation-id']).toMatch(/\S/);
    expect(results.stream?.chunks).toBeGreaterThan(1);
    expect(results.stream?.text).toMatch(/\S/);
    expect(results.responses).toMatch(/\S/);
    expect(results.followUp).toMatch(/\S/);
    expect(results.responsesStream).toMatch(/\S/);
    expect(results.fetched).toMatchObject({
      status: 200,
      'x-conversation-id': results.chatHeaders?.['x-conversation-id'],
      'x-chat-region': expect.stringMatching(/^(eastus2|swedencentral)$/),
      'x-request-id': expect.stringMatching(/\S/),
    });
  });

  it('exposes to front-ends the headers they read: region, request id, conversation id and retry hints', async () => {
    const response = await fetch(`${backend!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        origin: pageOrigin,
        authorization: `Bearer ${await userToken('alice')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe(pageOrigin);
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').split(/\s*,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining(['x-chat-region', 'x-request-id', 'x-conversation-id', 'retry-after', 'retry-after-ms']),
    );
    await response.text();
  });

  it('tells a preflight from an origin Host.CORS does not list which setting allows it', async () => {
    const response = await fetch(`${backend!.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:1',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('Host');
  });
});
