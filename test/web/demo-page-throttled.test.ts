// A file of its own: a throttled region is left alone for its Retry-After (5 s here), which every later test
// of the same backend would see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { ask, openPage, useBrowser } from './browser';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend?.close();
});

describe('the demo page when every region is throttled', () => {
  const browser = useBrowser();

  it('says once when to retry, from Retry-After', async () => {
    const page = await openPage(browser(), backend.host.url);
    await page.fill('#key', FUNCTION_KEY);
    backend.primary.setFault({ kind: 'throttle', retryAfterMs: 5000 });
    backend.secondary.setFault({ kind: 'throttle', retryAfterMs: 5000 });
    await ask(page, 'Hello?');
    // The server's message ends with its own vague retry sentence; Retry-After makes it one exact one.
    expect(await page.textContent('.message.error')).toBe('Every region is busy. Try again in 5 s.');
    await page.close();
  });
});
