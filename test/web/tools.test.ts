/**
 * The demo page's get_time tool in headless Chromium: with the box ticked, the model calls the tool, the
 * page answers it in the browser and shows the call, and the answer that follows uses the page's result.
 * Chromium is Debian's; without it the test is skipped (in CI it fails), as for the other page tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { ask, openPage as openPageOf, useBrowser } from './browser';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
}, 30_000);
afterAll(async () => {
  await backend?.close();
});

describe('the demo page’s get_time tool', { timeout: 60_000 }, () => {
  const browser = useBrowser();

  it('shows the call the page answered, then an answer that uses its result', async () => {
    const page = await openPageOf(browser(), backend.host.url);
    await page.fill('#key', FUNCTION_KEY);
    await page.check('#use-tools');
    await ask(page, 'What time is it? Use get_time.');
    const call = await page.textContent('.message.tool');
    // The simulator's arguments ({"timezone":"x"}) name no real zone: the page answers in UTC.
    expect(call).toMatch(/^get_time\(\{"timezone":"x"\}\) → \d\d:\d\d:\d\d \(UTC; unknown time zone "x"\)$/);
    const result = call?.split(' → ')[1] ?? '';
    const answer = await page.textContent('.message.assistant');
    expect(answer?.startsWith(`The get_time tool returned ${result}. `)).toBe(true);
    // Browser code as a string: this project's TypeScript has no DOM types.
    const kinds = await page.evaluate<string[]>(`[...document.querySelectorAll('.message')].map((m) => m.className)`);
    expect(kinds).toEqual(['message user', 'message tool', 'message assistant']);
    expect(await page.textContent('#region')).toBe('region: eastus2');
    await page.close();
  });
});
