/**
 * The demo page stays still while a chat starts, in headless Chromium at a desktop width: no empty answer bubble
 * before the first words of the answer, and the header keeps its place when the conversation list appears beside
 * the chat (the backend stores conversations in Azurite; the key's service caller's list appears once an answer is
 * stored). A screenshot of each moment goes to test-results/ (gitignored).
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { useAzurite } from '../stand-ins/azurite';
import { openPage, useBrowser } from './browser';

const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? path.join(__dirname, '..', '..', 'test-results');
/** Wider than the page's widest layout, so the page's own width decides where the header sits. */
const WINDOW = { width: 1400, height: 800 } as const;

const azurite = useAzurite();
let backend: Backend;
beforeAll(async () => {
  backend = await startBackend(
    { CHAT_SERVICE_KEYS: FUNCTION_KEY, CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString },
    { latency: 'realistic' },
  );
}, 30_000);
afterAll(async () => {
  await backend?.close();
});

describe('the demo page while a chat starts, in headless Chromium', { timeout: 60_000 }, () => {
  const browser = useBrowser();

  it('shows no empty answer bubble before the first words, and keeps the header still when the list appears', async () => {
    const page = await openPage(browser(), backend.host.url, WINDOW);
    await page.fill('#key', FUNCTION_KEY);
    expect(await page.isHidden('#conversations')).toBe(true);
    // Every moment an assistant bubble exists with no text in it is counted, however short.
    await page.evaluate(`
      window.emptyBubbles = 0;
      new MutationObserver(() => {
        if ([...document.querySelectorAll('.message.assistant')].some((m) => m.textContent === '')) window.emptyBubbles++;
      }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
    `);
    const header = async () => ({
      header: await page.locator('header').boundingBox(),
      title: await page.locator('h1').boundingBox(),
      region: await page.locator('#region').boundingBox(),
    });
    const before = await header();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });

    await page.fill('#question', 'What is the capital of France?');
    await page.click('#send');
    await page.waitForSelector('.message.user');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'demo-page-waiting.png') });
    await page.waitForSelector('#send:not([disabled])');
    await page.waitForSelector('#conversations:not([hidden])');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'demo-page-list-shown.png') });

    expect(await page.evaluate<number>('window.emptyBubbles')).toBe(0);
    expect((await page.textContent('.message.assistant')) ?? '').toMatch(/\S/);
    const after = await header();
    expect(after.header).toEqual(before.header);
    expect(after.title?.x).toBe(before.title?.x);
    // The badge names the region now (wider text), right-aligned where it was.
    expect((after.region?.x ?? 0) + (after.region?.width ?? 0)).toBe(
      (before.region?.x ?? 0) + (before.region?.width ?? 0),
    );
    await page.close();
  });
});
