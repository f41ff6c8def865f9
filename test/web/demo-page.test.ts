/**
 * The demo page end to end: the backend on the local host (simulated regions with realistic latency, so
 * the answer streams in over a second or so), the page served by web-get, driven in headless Chromium.
 * Chromium is Debian's (`apt-get install chromium`); playwright-core downloads no browser.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots go here (not committed); set SCREENSHOT_DIR to keep them somewhere else. */
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? mkdtempSync(path.join(tmpdir(), 'demo-page-'));

let backend: Backend;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: run "apt-get install -y chromium" or set CHROMIUM_PATH.`);
  }
  backend = await startBackend({}, { latency: 'realistic' });
  // launch() gives every run a fresh temporary profile (user-data-dir).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await backend?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${backend.host.url}/api/web/`);
  return page;
}

/**
 * Records every length the answer bubble's text takes, to see it grow while streaming. Browser code as a
 * string: this project's TypeScript has no DOM types.
 */
async function watchAnswer(page: Page): Promise<void> {
  await page.evaluate(`
    window.answerLengths = [];
    new MutationObserver(() => {
      const length = document.querySelector('.message.assistant')?.textContent.length ?? 0;
      if (length > 0 && window.answerLengths.at(-1) !== length) window.answerLengths.push(length);
    }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
  `);
}

describe('the demo page in headless Chromium', () => {
  it('fills in the local function key and shows no region before the first answer', async () => {
    const page = await openPage();
    expect(await page.inputValue('#key')).toBe('local-dev-key');
    expect(await page.textContent('#region')).toBe('region: -');
    await page.close();
  });

  it('streams the answer into the page piece by piece and shows the region that answered', async () => {
    const page = await openPage();
    await page.fill('#key', FUNCTION_KEY);
    await watchAnswer(page);
    const question = 'What is the capital of France?';
    await page.fill('#question', question);
    await page.click('#send');

    await page.waitForSelector('.message.user');
    await page.locator('#region', { hasText: 'region: eastus2' }).waitFor();
    await page.waitForSelector('#send:not([disabled])');

    const shown = (await page.textContent('.message.assistant')) ?? '';
    const direct = await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ messages: [{ role: 'user', content: question }] }),
    });
    const { message } = (await direct.json()) as { message: { content: string } };
    expect(shown).toBe(message.content);
    expect(await page.textContent('.message.user')).toBe(question);

    const lengths = await page.evaluate<number[]>('window.answerLengths');
    expect(lengths.length).toBeGreaterThan(2);
    expect(lengths.at(-1)).toBe(shown.length);

    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'demo-page.png'), fullPage: true });
    await page.close();
  });

  it('says the function key is missing instead of failing silently', async () => {
    const page = await openPage();
    await page.fill('#key', 'wrong-key');
    await page.fill('#question', 'Hello?');
    await page.click('#send');
    await page.waitForSelector('.message.error');
    expect(await page.textContent('.message.error')).toContain('function key');
    expect(await page.locator('.message.assistant').count()).toBe(0);
    await page.close();
  });
});

describe('GET /api/web/{*path}', () => {
  it('serves the page without a key, uncached, and redirects /api/web to /api/web/', async () => {
    const index = await fetch(`${backend.host.url}/api/web/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = await fetch(`${backend.host.url}/api/web/chat.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
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
