/**
 * Headless Chromium for the demo page's tests: Debian's (`apt-get install chromium`); playwright-core downloads
 * no browser. Without it the browser tests are skipped with that advice, except in CI (CI=true), where they
 * must run and so fail.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NO_CHROMIUM = existsSync(CHROMIUM)
  ? undefined
  : `No Chromium at ${CHROMIUM}: run "apt-get install -y chromium" or set CHROMIUM_PATH to a Chromium binary.`;

/** A fresh Chromium; launch() gives every run a fresh temporary profile (user-data-dir). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/**
 * One browser for the tests of the calling describe block (or file): launched before them, closed after;
 * each test is skipped with the reason when Chromium is missing (a failure in CI). Returns the browser.
 */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (NO_CHROMIUM !== undefined && process.env.CI === 'true') {
      throw new Error(`${NO_CHROMIUM} CI must run the browser test of the demo page.`);
    }
    if (NO_CHROMIUM !== undefined) {
      console.warn(`Skipping the demo page's browser tests. ${NO_CHROMIUM}`);
      return;
    }
    browser = await launchChromium();
  }, 30_000);
  beforeEach(({ skip }) => {
    skip(NO_CHROMIUM !== undefined, NO_CHROMIUM);
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running');
    return browser;
  };
}

/** Opens the demo page of the backend at `baseUrl`. */
export async function openPage(
  browser: Browser,
  baseUrl: string,
  viewport?: { width: number; height: number },
): Promise<Page> {
  const page = await browser.newPage(viewport ? { viewport } : {});
  await page.goto(`${baseUrl}/api/web/`);
  return page;
}

/** Asks a question and waits until its answer (or error) is complete: Send is enabled again. */
export async function ask(page: Page, question: string): Promise<void> {
  await page.fill('#question', question);
  await page.click('#send'); // the submit handler disables Send before click() returns
  await page.waitForSelector('#send:not([disabled])');
}

/**
 * Records every length the answer bubble's text takes, in `window.answerLengths`, to see it grow while
 * streaming. Browser code as a string: this project's TypeScript has no DOM types.
 */
export async function watchAnswer(page: Page): Promise<void> {
  await page.evaluate(`
    window.answerLengths = [];
    new MutationObserver(() => {
      const length = document.querySelector('.message.assistant')?.textContent.length ?? 0;
      if (length > 0 && window.answerLengths.at(-1) !== length) window.answerLengths.push(length);
    }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
  `);
}

/** The lengths {@link watchAnswer} saw. */
export function answerLengths(page: Page): Promise<number[]> {
  return page.evaluate<number[]>('window.answerLengths');
}

/** Fails unless each selector's element lies wholly inside a `width`×`height` window (in view, not scrolled away). */
export async function expectInWindow(
  page: Page,
  selectors: readonly string[],
  window: { readonly width: number; readonly height: number },
): Promise<void> {
  for (const selector of selectors) {
    const box = await page.locator(selector).boundingBox();
    expect(box, selector).not.toBeNull();
    expect(box!.x, selector).toBeGreaterThanOrEqual(0);
    expect(box!.y, selector).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, selector).toBeLessThanOrEqual(window.width);
    expect(box!.y + box!.height, selector).toBeLessThanOrEqual(window.height);
  }
}
