/**
 * Signing in on the demo page against a backend with sign-in on, as `npm start` runs it: the
 * local OpenID Connect provider, users and service callers (CHAT_AUTH_CALLERS=users,service), the app
 * checking every request. The page is driven in headless Chromium (skipped without it, except in CI).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { answerLengths, ask, openPage as openPageOf, useBrowser, watchAnswer } from './browser';

let identity: RunningIdentityProvider;
let backend: Backend;
beforeAll(async () => {
  identity = await startIdentityProvider({ port: 0 });
  backend = await startBackend(
    { ...identity.backendSettings(), CHAT_AUTH_CALLERS: 'users,service', CHAT_SERVICE_KEYS: FUNCTION_KEY },
    { latency: 'realistic' },
  );
}, 30_000);
afterAll(async () => {
  await backend?.close();
  await identity?.close();
});

const tokenUrl = () => `${identity.url}/token`;

/** The claims of a JWT, unchecked (the backend checks; the test only reads whose token it is). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

/** The headers the page sent with its next chat request, once it is sent. */
function nextChatHeaders(page: Page): Promise<Record<string, string>> {
  return page.waitForRequest('**/api/chat/stream').then((request: Request) => request.allHeaders());
}

describe('signing in on the demo page in headless Chromium', () => {
  const browser = useBrowser();

  async function openPage(): Promise<Page> {
    const page = await openPageOf(browser(), backend.host.url);
    await page.waitForSelector('#sign-in:not([hidden])'); // config.json has been read
    await page.fill('#key', FUNCTION_KEY);
    return page;
  }

  async function signInAs(page: Page, name: string): Promise<void> {
    await page.fill('#user', name);
    await page.click('#sign-in-button');
    await page.locator('#who', { hasText: `signed in as ${name}` }).waitFor();
  }

  /** Makes the local provider mint the page's tokens with these claims over the defaults. */
  async function mintWith(page: Page, claims: Record<string, unknown>): Promise<void> {
    await page.route(tokenUrl(), (route: Route) => {
      const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
      return route.continue({ postData: JSON.stringify({ ...body, claims }) });
    });
  }

  it('signs in as alice through the box and streams her answer, sent with her bearer token instead of the key', async () => {
    const page = await openPage();
    await signInAs(page, 'alice');
    expect(await page.isVisible('#sign-in')).toBe(false);
    expect(await page.isDisabled('#key')).toBe(true);

    await watchAnswer(page);
    const headers = nextChatHeaders(page);
    await ask(page, 'What is the capital of France?');

    const sent = await headers;
    expect(sent['x-functions-key']).toBeUndefined();
    expect(sent.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(claimsOf(sent.authorization!.slice('Bearer '.length))).toMatchObject({ name: 'alice', scp: 'chat' });
    expect(await page.locator('.message.error').count()).toBe(0);
    const lengths = await answerLengths(page);
    expect(lengths.length).toBeGreaterThan(2);
    expect(lengths.at(-1)).toBe(((await page.textContent('.message.assistant')) ?? '').length);
    await page.close();
  });

  it('sends the function key again after signing out', async () => {
    const page = await openPage();
    await signInAs(page, 'alice');
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(await page.isVisible('#account')).toBe(false);
    expect(await page.isEnabled('#key')).toBe(true);

    const headers = nextChatHeaders(page);
    await ask(page, 'Hello?');
    const sent = await headers;
    expect(sent.authorization).toBeUndefined();
    expect(sent['x-functions-key']).toBe(FUNCTION_KEY);
    expect(await page.locator('.message.assistant').count()).toBe(1);
    expect(await page.locator('.message.error').count()).toBe(0);
    await page.close();
  });

  // The page believes the provider's expires_in (an hour); the token itself says otherwise, as when a laptop
  // slept past its expiry, or was minted for another API.
  const refusals = [
    {
      token: 'has expired',
      claims: () => ({ iat: nowSeconds() - 7200, nbf: nowSeconds() - 7200, exp: nowSeconds() - 3600 }),
      reason: 'The access token has expired.',
    },
    {
      token: 'is for another API',
      claims: () => ({ aud: 'api://another-api' }),
      reason: 'The access token is for a different API.',
    },
  ];
  it.each(refusals)(
    'says the sign-in expired or was refused, with the backend reason, when the token $token, and signs out',
    async ({ claims, reason }) => {
      const page = await openPage();
      await mintWith(page, claims());
      await signInAs(page, 'alice');
      await ask(page, 'Hello?');

      const shown = (await page.textContent('.message.error')) ?? '';
      expect(shown).toMatch(/^Your sign-in expired or was refused: /);
      expect(shown).toContain(reason);
      expect(shown).toMatch(/Sign in again\.$/);
      expect(shown).not.toMatch(/key/i);
      await page.waitForSelector('#sign-in:not([hidden])');
      expect(await page.isEnabled('#key')).toBe(true);
      await page.close();
    },
  );

  it('fetches a token again before a request when the one held is near expiry, and not otherwise', async () => {
    const page = await openPage();
    const tokenRequests = () => requests.filter((r) => r.url() === tokenUrl() && r.method() === 'POST').length;
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    await page.route(tokenUrl(), async (route: Route) => {
      // The provider is asked for a long-lived token; the page is told it lasts 30 s, under the renewal margin.
      const response = await route.fetch();
      const body = (await response.json()) as Record<string, unknown>;
      await route.fulfill({ response, json: { ...body, expires_in: 30 } });
    });
    await signInAs(page, 'alice');
    expect(tokenRequests()).toBe(1);
    await page.unroute(tokenUrl()); // the next token is told it lasts an hour
    await ask(page, 'Hello?');
    expect(tokenRequests()).toBe(2);
    await ask(page, 'Still there?');
    await ask(page, 'And now?');
    expect(tokenRequests()).toBe(2);
    expect(await page.locator('.message.error').count()).toBe(0);
    await page.close();
  });

  it("keeps the token for this tab only: a reload stays signed in, the key's localStorage never holds it", async () => {
    const page = await openPage();
    await signInAs(page, 'alice');
    await page.reload();
    await page.locator('#who', { hasText: 'signed in as alice' }).waitFor();
    const stored = await page.evaluate<string>('JSON.stringify(Object.values(localStorage))');
    expect(stored).not.toMatch(/eyJ/); // the start of every JWT
    await page.close();
  });

  it("shows the provider's reason when it refuses to sign in a name", async () => {
    const page = await openPage();
    await page.fill('#user', 'not a name!');
    await page.click('#sign-in-button');
    await page.waitForSelector('.message.error');
    expect(await page.textContent('.message.error')).toMatch(/^"user" is required: a name of 1-64 letters/);
    expect(await page.isVisible('#sign-in')).toBe(true);
    await page.close();
  });

  it('asks to sign in or enter a key when neither was sent', async () => {
    const page = await openPage();
    await page.fill('#key', '');
    await ask(page, 'Hello?');
    expect(await page.textContent('.message.error')).toBe(
      'The backend needs you to sign in, or a function key in the key field.',
    );
    await page.close();
  });
});

describe('GET /api/web/config.json and the vendor files', () => {
  it("tells the page to sign in with the local provider's token endpoint, and nothing secret", async () => {
    const response = await fetch(`${backend.host.url}/api/web/config.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      signIn: { kind: 'local', tokenUrl: tokenUrl() },
      conversations: false,
    });
    expect(text).not.toContain(FUNCTION_KEY);
  });

  it("lets the page reach the provider's token endpoint and nothing else beyond its own origin", async () => {
    const response = await fetch(`${backend.host.url}/api/web/`);
    expect(response.headers.get('content-security-policy')).toBe(
      `default-src 'self'; connect-src 'self' ${identity.url}`,
    );
  });

  // Importing functions/web-get here would register it before the local host loads it, so the paths are found again.
  const lib = path.join(path.dirname(require.resolve('@azure/msal-browser/package.json')), 'lib');
  it.each([
    { name: 'msal-browser.js', file: path.join(lib, 'msal-browser.min.js') },
    { name: 'msal-redirect-bridge.js', file: path.join(lib, 'redirect-bridge', 'msal-redirect-bridge.min.js') },
  ])("serves MSAL's $name from node_modules as JavaScript", async ({ name, file }) => {
    const response = await fetch(`${backend.host.url}/api/web/vendor/${name}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const served = Buffer.from(await response.arrayBuffer());
    expect(served.equals(readFileSync(file))).toBe(true);
    expect(served.subarray(0, 30).toString()).toContain('@azure/msal-browser');
  });

  it.each(['vendor/msal-browser.cjs', 'vendor%2F..%2Fchat.js', 'vendor/', 'vendor/package.json'])(
    'answers 404 for %s',
    async (name) => {
      expect((await fetch(`${backend.host.url}/api/web/${name}`)).status).toBe(404);
    },
  );
});

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
