/**
 * The demo page in Azure's shape: sign-in with Microsoft Entra ID through MSAL, from the SPA
 * registration in CHAT_WEB_CLIENT_ID. No real Entra ID is reached: Chromium's requests to
 * login.microsoftonline.com are answered by the test (a code for any authorize request, unsigned tokens for
 * it), so MSAL's popup, the redirect bridge and the token request run for real against a stand-in. A file
 * of its own: the backend's settings differ.
 */
import type { BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type Backend } from '../e2e/backend';
import { ask, useBrowser } from './browser';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const API = '6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const SPA = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({
    CHAT_AUTH_CALLERS: 'users',
    CHAT_AUTH_TENANT_ID: TENANT,
    CHAT_AUTH_AUDIENCE: `${API},api://${API}`,
    CHAT_WEB_CLIENT_ID: SPA,
  });
}, 30_000);
afterAll(async () => {
  await backend?.close();
});

/** An unsigned JWT: MSAL reads an ID token's claims; checking signatures is the API's job, not the SPA's. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

const USER_OID = '00000000-0000-0000-66f3-3332eca7ea81';
const ACCESS_TOKEN = unsignedJwt({ aud: `api://${API}`, scp: 'chat', name: 'Alice' });

/**
 * Stands in for Entra ID: the authorize page sends the popup straight back to the redirect URI with a code,
 * and the token endpoint trades the code for an ID token (with the nonce MSAL sent) and an access token.
 */
async function fakeEntra(context: BrowserContext): Promise<{ authorizeUrl: () => URL | undefined }> {
  let authorize: URL | undefined;
  await context.route(`${AUTHORITY}/oauth2/v2.0/authorize?*`, (route: Route) => {
    const url = new URL(route.request().url());
    authorize = url;
    const answer = new URLSearchParams({
      code: 'stand-in-code',
      state: url.searchParams.get('state') ?? '',
      client_info: Buffer.from(JSON.stringify({ uid: USER_OID, utid: TENANT })).toString('base64url'),
    });
    return route.fulfill({
      status: 302,
      headers: { location: `${url.searchParams.get('redirect_uri')}#${answer.toString()}` },
    });
  });
  await context.route(`${AUTHORITY}/oauth2/v2.0/token?*`, (route: Route) => {
    const now = Math.floor(Date.now() / 1000);
    const idToken = unsignedJwt({
      aud: SPA,
      iss: `${AUTHORITY}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      nonce: authorize?.searchParams.get('nonce'),
      oid: USER_OID,
      sub: 'alice-subject',
      tid: TENANT,
      name: 'Alice',
      preferred_username: 'alice@contoso.com',
      ver: '2.0',
    });
    return route.fulfill({
      headers: { 'access-control-allow-origin': '*' },
      json: {
        token_type: 'Bearer',
        scope: `api://${API}/chat`,
        expires_in: 3600,
        ext_expires_in: 3600,
        access_token: ACCESS_TOKEN,
        id_token: idToken,
        client_info: Buffer.from(JSON.stringify({ uid: USER_OID, utid: TENANT })).toString('base64url'),
      },
    });
  });
  return { authorizeUrl: () => authorize };
}

describe('the demo page with MSAL, in headless Chromium', () => {
  const browser = useBrowser();

  async function openPage(): Promise<{
    page: Page;
    entra: { authorizeUrl: () => URL | undefined };
    problems: string[];
  }> {
    const context = await browser().newContext();
    const entra = await fakeEntra(context);
    const page = await context.newPage();
    const problems: string[] = []; // a request the page's policy blocks shows here too
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${backend.host.url}/api/web/`);
    return { page, entra, problems };
  }

  it('loads MSAL from vendor/msal-browser.js and offers "Sign in with Microsoft" without a name box', async () => {
    const { page, problems } = await openPage();
    const script = await page.waitForResponse('**/api/web/vendor/msal-browser.js');
    expect(script.status()).toBe(200);
    expect(script.headers()['content-type']).toBe('text/javascript; charset=utf-8');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(await page.textContent('#sign-in-button')).toBe('Sign in with Microsoft');
    expect(await page.isVisible('#user')).toBe(false);
    expect(await page.evaluate<string>('typeof msal.PublicClientApplication')).toBe('function');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("signs in through Entra ID's popup for the SPA and the API's scope, then sends the access token MSAL holds", async () => {
    const { page, entra, problems } = await openPage();
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.click('#sign-in-button');
    await page.locator('#who', { hasText: 'signed in as alice@contoso.com' }).waitFor();

    const authorize = entra.authorizeUrl();
    expect(authorize?.searchParams.get('client_id')).toBe(SPA);
    expect(authorize?.searchParams.get('scope')?.split(' ')).toContain(`api://${API}/chat`);
    expect(authorize?.searchParams.get('redirect_uri')).toBe(`${backend.host.url}/api/web/redirect.html`);
    expect(authorize?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(await page.isDisabled('#key')).toBe(true);

    // The backend cannot reach Entra ID's keys here, so the answer is the test's: only the header matters.
    const sent = new Promise<Record<string, string>>((resolve) => {
      void page.route('**/api/chat/stream', async (route: Route) => {
        resolve(await route.request().allHeaders());
        await route.fulfill({ contentType: 'application/jsonl', body: '{"delta":{"content":"Hi Alice"}}\n' });
      });
    });
    await ask(page, 'Hello?');
    expect((await sent).authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(await page.textContent('.message.assistant')).toBe('Hi Alice');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('forgets the account on sign-out and offers sign-in again', async () => {
    const { page, problems } = await openPage();
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.click('#sign-in-button');
    await page.locator('#who', { hasText: 'signed in as alice@contoso.com' }).waitFor();
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(await page.isEnabled('#key')).toBe(true);
    await page.reload(); // MSAL's sessionStorage cache no longer holds her
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

describe('GET /api/web/config.json with an SPA registration', () => {
  it("tells the page to use MSAL with the SPA's client id, the tenant's authority and the API's scope", async () => {
    const response = await fetch(`${backend.host.url}/api/web/config.json`);
    expect(await response.json()).toEqual({
      signIn: { kind: 'msal', clientId: SPA, authority: AUTHORITY, scopes: [`api://${API}/chat`] },
      conversations: false,
    });
  });

  it('lets the page reach Entra ID, and serves the redirect bridge page', async () => {
    const page = await fetch(`${backend.host.url}/api/web/`);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; connect-src 'self' https://login.microsoftonline.com; frame-src https://login.microsoftonline.com",
    );
    const bridge = await fetch(`${backend.host.url}/api/web/redirect.html`);
    expect(bridge.status).toBe(200);
    expect(bridge.headers.get('cross-origin-opener-policy')).toBeNull(); // it would cut the popup off its opener
    expect(await bridge.text()).toContain('vendor/msal-redirect-bridge.js');
  });
});
