/**
 * The demo page end to end: the backend on the local host (simulated regions with realistic latency, so
 * the answer streams in over a second or so), the page served by web-get, driven in headless Chromium.
 * Chromium is Debian's (`apt-get install chromium`); playwright-core downloads no browser. Without it the
 * browser tests are skipped with that advice, except in CI (CI=true), where they must run and so fail.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../simulator/types';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import {
  answerLengths,
  ask,
  expectInWindow,
  launchChromium,
  openPage as openPageOf,
  useBrowser,
  watchAnswer,
} from './browser';

/** Screenshots are kept here as test artifacts (gitignored); set SCREENSHOT_DIR to keep them elsewhere. */
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? path.join(__dirname, '..', '..', 'test-results');
/** The window of the long-chat test: small enough that four exchanges overflow it. */
const WINDOW = { width: 900, height: 700 } as const;

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_BREAKER_FAILURES: '100' }, { latency: 'realistic' });
}, 30_000);
afterAll(async () => {
  await backend?.close();
});

async function setFault(fault: Fault): Promise<void> {
  for (const region of [backend.primary, backend.secondary]) {
    const response = await fetch(`${region.url}/_sim/fault`, { method: 'POST', body: JSON.stringify(fault) });
    expect(response.ok).toBe(true);
  }
}

// The tests share one backend. Breakers never open in it (an outage test would otherwise keep a region out
// for the tests after it, in whatever order they run); the throttled case has a file of its own.
// A browser, the backend and two simulated regions share 2 cores: allow a slow machine more than the default.
describe('the demo page in headless Chromium', { timeout: 60_000 }, () => {
  const browser = useBrowser();
  const openPage = (viewport?: { width: number; height: number }) => openPageOf(browser(), backend.host.url, viewport);

  it('fills in the local function key and shows no region before the first answer', async () => {
    const page = await openPage();
    expect(await page.inputValue('#key')).toBe('local-dev-key');
    expect(await page.textContent('#region')).toBe('region: -');
    await page.close();
  });

  it('requests nothing that is missing when the page opens, the icon included', async () => {
    // A browser of its own: Chromium asks for a site's icon once per browser, so only its first page shows
    // a missing /favicon.ico. Playwright leaves requests for /favicon.ico out of its events, but the 404
    // still reaches the console.
    const fresh = await launchChromium();
    try {
      const page = await fresh.newPage();
      const failures: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
      });
      page.on('console', (message) => {
        if (message.type() === 'error') failures.push(`${message.text()} (${message.location().url})`);
      });
      const icon = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/web/favicon.svg', {
        timeout: 5_000,
      });
      await page.goto(`${backend.host.url}/api/web/`);
      await page.waitForLoadState('networkidle');
      expect(failures).toEqual([]); // a page without an icon link has its /favicon.ico 404 here
      const iconResponse = await icon;
      expect(iconResponse.status()).toBe(200);
      expect(iconResponse.headers()['content-type']).toBe('image/svg+xml');
      expect(failures).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('streams the answer into the page piece by piece and shows the region that answered', async () => {
    const page = await openPage();
    await page.fill('#key', FUNCTION_KEY);
    await watchAnswer(page);
    const question = 'What is the capital of France?';
    await page.fill('#question', question);
    await page.click('#send');

    await page.waitForSelector('.message.user');
    await page.waitForSelector('#send:not([disabled])');
    // Either region may answer (on a loaded machine the primary can miss its first-byte limit); the badge
    // names the one that did.
    expect(await page.textContent('#region')).toMatch(/^region: (eastus2|swedencentral)$/);

    const shown = (await page.textContent('.message.assistant')) ?? '';
    const direct = await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ messages: [{ role: 'user', content: question }] }),
    });
    const { message } = (await direct.json()) as { message: { content: string } };
    expect(shown).toBe(message.content);
    expect(await page.textContent('.message.user')).toBe(question);

    const lengths = await answerLengths(page);
    expect(lengths.length).toBeGreaterThan(2);
    expect(lengths.at(-1)).toBe(shown.length);
    await page.close();
  });

  it('keeps the header, the input and Send in a 900x700 window after four exchanges, scrolling only the list', async () => {
    const page = await openPage(WINDOW);
    await page.fill('#key', FUNCTION_KEY);
    for (const question of ['What is Azure?', 'And Azure OpenAI?', 'Which regions have it?']) {
      await ask(page, question);
    }
    // While the fourth answer streams, note each time its end is below the bottom of the list.
    await page.evaluate(`
      window.streamed = { updates: 0, whileOverflowing: 0, outOfView: 0 };
      const list = document.getElementById('messages');
      new MutationObserver(() => {
        const last = list.lastElementChild;
        if (!last?.matches('.message.assistant') || last.textContent === '') return;
        window.streamed.updates++;
        if (list.scrollHeight > list.clientHeight) window.streamed.whileOverflowing++;
        if (last.getBoundingClientRect().bottom > list.getBoundingClientRect().bottom + 1) window.streamed.outOfView++;
      }).observe(list, { childList: true, subtree: true, characterData: true });
    `);
    await ask(page, 'How do I fail over between them?');

    expect(await page.locator('.message.assistant').count()).toBe(4);
    expect(await page.locator('.message.error').count()).toBe(0);
    const streamed = await page.evaluate<{ updates: number; whileOverflowing: number; outOfView: number }>(
      'window.streamed',
    );
    expect(streamed.updates).toBeGreaterThan(2);
    expect(streamed.whileOverflowing, 'the list never overflowed, so it never scrolled').toBeGreaterThan(0);
    expect(streamed.outOfView).toBe(0);

    const layout = await page.evaluate<{ pageScrolls: boolean; listScrolls: boolean; lastInView: boolean }>(`({
      pageScrolls: document.scrollingElement.scrollHeight > document.scrollingElement.clientHeight,
      listScrolls: document.getElementById('messages').scrollHeight > document.getElementById('messages').clientHeight,
      lastInView: document.querySelector('.message:last-child').getBoundingClientRect().bottom <=
        document.getElementById('messages').getBoundingClientRect().bottom + 1,
    })`);
    expect(layout).toEqual({ pageScrolls: false, listScrolls: true, lastInView: true });
    await expectInWindow(page, ['header', '#question', '#send'], WINDOW);
    expect(await page.locator('header').isVisible()).toBe(true);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'demo-page-long-chat.png') });
    await page.close();
  }, 60_000);

  // The local host answers 401 with an empty body today (or, later, the JSON error body); neither says
  // whether the key was missing or wrong, so the page decides by whether it sent one.
  const NEEDS_KEY = 'The backend needs a function key (x-functions-key). Enter it in the key field.';
  const KEY_REJECTED = 'The function key was rejected. Check the key field (x-functions-key).';
  const keyCases = [
    { says: 'a key is needed', sent: 'no key', key: '', withBody: false, text: NEEDS_KEY },
    { says: 'the key was rejected', sent: 'a wrong key', key: 'wrong-key', withBody: false, text: KEY_REJECTED },
    { says: 'a key is needed', sent: 'no key', key: '', withBody: true, text: NEEDS_KEY },
    { says: 'the key was rejected', sent: 'a wrong key', key: 'wrong-key', withBody: true, text: KEY_REJECTED },
  ];
  for (const { says, sent, key, withBody, text } of keyCases) {
    it(`says ${says} when ${sent} is sent and the 401 has ${withBody ? 'the JSON error body' : 'no body'}`, async () => {
      const page = await openPage();
      if (withBody) {
        await page.route('**/api/chat/stream', (route) =>
          route.fulfill({
            status: 401,
            contentType: 'application/json',
            body: JSON.stringify({
              error: { code: 'unauthorized', message: 'Missing or invalid function key.', requestId: 'request-1' },
            }),
          }),
        );
      }
      const answered = page.waitForResponse('**/api/chat/stream');
      await page.fill('#key', key);
      await ask(page, 'Hello?');
      expect((await answered).status()).toBe(401);
      expect(await page.textContent('.message.error')).toBe(text);
      expect(await page.locator('.message.assistant').count()).toBe(0);
      await page.close();
    });
  }

  it('clears the region badge when the next answer fails', async () => {
    const page = await openPage();
    await page.fill('#key', FUNCTION_KEY);
    await ask(page, 'Hello?');
    expect(await page.textContent('#region')).toMatch(/^region: (eastus2|swedencentral)$/);

    await setFault({ kind: 'outage', mode: 'http' });
    try {
      await ask(page, 'Still there?');
    } finally {
      await setFault({ kind: 'none' });
    }
    expect(await page.locator('.message.error').count()).toBe(1);
    expect(await page.textContent('#region')).toBe('region: -');
    await page.close();
  });

  // The server's message ends with its own vague retry sentence; Retry-After (5 s) makes it one exact one.
  it('says once when to retry, from Retry-After, when every region is in an outage', async () => {
    const page = await openPage();
    await page.fill('#key', FUNCTION_KEY);
    await setFault({ kind: 'outage', mode: 'http' });
    try {
      await ask(page, 'Hello?');
    } finally {
      await setFault({ kind: 'none' });
    }
    expect(await page.textContent('.message.error')).toBe(
      'The model service is unavailable in every region. Try again in 5 s.',
    );
    await page.close();
  });
});

describe('GET /api/web/{*path}', () => {
  it('serves the page and its icon without a key, uncached, and redirects /api/web to /api/web/', async () => {
    const index = await fetch(`${backend.host.url}/api/web/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = await fetch(`${backend.host.url}/api/web/chat.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const icon = await fetch(`${backend.host.url}/api/web/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    const bare = await fetch(`${backend.host.url}/api/web`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(new URL(bare.headers.get('location') ?? '', `${backend.host.url}/api/web`).pathname).toBe('/api/web/');
  });

  it.each(['..%2Fpackage.json', '..%2F..%2Fhost.json', 'missing.js', 'chat.ts', 'sub/chat.js'])(
    'answers 404 for %s',
    async (name) => {
      const response = await fetch(`${backend.host.url}/api/web/${name}`);
      expect(response.status).toBe(404);
    },
  );
});
