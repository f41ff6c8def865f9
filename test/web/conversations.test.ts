/**
 * The demo page's conversation list in headless Chromium, against a backend that stores
 * conversations in Azurite and signs users in with the local provider (users and the key's service caller).
 * Every test signs in as a user of its own, so what it stores is its own whatever order the tests run in.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { useAzurite } from '../stand-ins/azurite';
import { ask, expectInWindow, openPage as openPageOf, useBrowser } from './browser';

/** The window of the layout test, as in the demo page's long-chat test. */
const WINDOW = { width: 900, height: 700 } as const;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? path.join(__dirname, '..', '..', 'test-results');

const azurite = useAzurite();
let identity: RunningIdentityProvider;
let backend: Backend;
beforeAll(async () => {
  identity = await startIdentityProvider({ port: 0 });
  backend = await startBackend({
    ...identity.backendSettings(),
    CHAT_AUTH_CALLERS: 'users,service',
    CHAT_SERVICE_KEYS: FUNCTION_KEY,
    CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
    CHAT_USER_REQUESTS_PER_MINUTE: '0', // the layout test starts 30 conversations at once
  });
}, 30_000);
afterAll(async () => {
  await backend?.close();
  await identity?.close();
});

interface Listed {
  id: string;
  title: string;
  messageCount: number;
}

/** A name no other test signs in with. */
const someone = () => `u${Math.random().toString(36).slice(2, 10)}`;

/** A signed-in user's name, or the function key's service caller. */
type Who = string | { service: true };
const SERVICE: Who = { service: true };

/** The API as `who` calls it, outside the page. */
async function api(who: Who, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> =
    typeof who === 'string'
      ? { authorization: `Bearer ${await identity.token(who)}` }
      : { 'x-functions-key': FUNCTION_KEY };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${backend.host.url}/api/${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function listed(who: Who): Promise<Listed[]> {
  const response = await api(who, 'GET', 'conversations');
  expect(response.status).toBe(200);
  return ((await response.json()) as { conversations: Listed[] }).conversations;
}

/** The titles in the page's list, top first. */
function titles(page: Page): Promise<string[]> {
  return page.locator('#conversation-list .title').allTextContents();
}

/** The messages shown, as "role: text". */
function shownMessages(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(
    `[...document.querySelectorAll('#messages .message')].map((m) => m.className.replace('message ', '') + ': ' + m.textContent)`,
  );
}

function currentId(page: Page): Promise<string | null> {
  return page.evaluate<string | null>(`sessionStorage.getItem('conversationId')`);
}

describe('the conversation list on the demo page in headless Chromium', { timeout: 60_000 }, () => {
  const browser = useBrowser();

  /** The page, signed in as `user` through the local provider's box. */
  async function signedIn(user: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await openPageOf(browser(), backend.host.url, viewport);
    await page.waitForSelector('#sign-in:not([hidden])'); // config.json has been read
    await page.fill('#key', FUNCTION_KEY);
    await page.fill('#user', user);
    await page.click('#sign-in-button');
    await page.locator('#who', { hasText: `signed in as ${user}` }).waitFor();
    return page;
  }

  it('lists one conversation, titled with the first words of the first question, after two questions', async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Plan a three day trip to Lisbon in May for two');
    await ask(page, 'What about food?');

    await expect.poll(() => titles(page)).toEqual(['Plan a three day trip to Lisbon in…']);
    const [stored] = await listed(user);
    expect(stored).toMatchObject({ title: 'Plan a three day trip to Lisbon in…', messageCount: 4 });
    expect(await currentId(page)).toBe(stored!.id);
    expect(await page.getAttribute('#conversation-list .conversation', 'aria-current')).toBe('true');
    expect(await page.locator('.message.error').count()).toBe(0);
    await page.close();
  });

  it('shows the same conversation and its messages after a reload, and the next question continues it', async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Name a colour');
    await ask(page, 'Another one');
    const before = await shownMessages(page);
    expect(before).toHaveLength(4);

    await page.reload();
    await expect.poll(() => shownMessages(page)).toEqual(before);
    await expect.poll(() => titles(page)).toEqual(['Name a colour']);
    await ask(page, 'And a third');

    await expect.poll(() => page.locator('.message.assistant').count()).toBe(3);
    const [only, ...others] = await listed(user);
    expect(others).toEqual([]);
    const opened = (await (await api(user, 'GET', `conversations/${only!.id}`)).json()) as {
      messages: { turn: number; role: string; content: string }[];
    };
    expect(new Set(opened.messages.map((m) => m.turn)).size).toBe(3);
    expect(opened.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'Name a colour',
      'Another one',
      'And a third',
    ]);
    await page.close();
  });

  it('opens another conversation from the list, and the next question goes on in that one', async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Plan a trip to Lisbon');
    await page.click('#new-chat');
    expect(await shownMessages(page)).toEqual([]);
    await ask(page, 'Explain monads briefly');
    await expect.poll(() => titles(page)).toEqual(['Explain monads briefly', 'Plan a trip to Lisbon']);

    await page.click('#conversation-list .title >> text=Plan a trip to Lisbon');
    await expect.poll(async () => (await shownMessages(page))[0]).toBe('user: Plan a trip to Lisbon');
    expect(await shownMessages(page)).toHaveLength(2);
    await ask(page, 'What about food?');

    await expect
      .poll(async () => Object.fromEntries((await listed(user)).map((c) => [c.title, c.messageCount])))
      .toEqual({ 'Plan a trip to Lisbon': 4, 'Explain monads briefly': 2 });
    await expect.poll(() => titles(page)).toEqual(['Plan a trip to Lisbon', 'Explain monads briefly']);
    await page.close();
  });

  it('renames a conversation: the list and the API show the new title', async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Plan a trip to Lisbon');
    await page.locator('#conversation-list .title').waitFor();

    await page.click('#conversation-list .rename');
    await page.fill('.rename-form input', 'Lisbon');
    await page.press('.rename-form input', 'Enter');

    await expect.poll(() => titles(page)).toEqual(['Lisbon']);
    expect((await listed(user)).map((c) => c.title)).toEqual(['Lisbon']);
    expect(await page.locator('.message.error').count()).toBe(0);
    await page.close();
  });

  it('deletes a conversation: gone from the list, 404 from the API, and the page starts a new chat', async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Keep this one');
    await page.click('#new-chat');
    await ask(page, 'Delete this one');
    await expect.poll(() => titles(page)).toEqual(['Delete this one', 'Keep this one']);
    const doomed = await currentId(page);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#conversation-list .conversation[aria-current="true"] .delete');

    await expect.poll(() => titles(page)).toEqual(['Keep this one']);
    expect((await api(user, 'GET', `conversations/${doomed}`)).status).toBe(404);
    expect(await shownMessages(page)).toEqual([]);
    expect(await currentId(page)).toBeNull();
    await ask(page, 'A fresh start');
    await expect.poll(() => titles(page)).toEqual(['A fresh start', 'Keep this one']);
    await page.close();
  });

  it("shows the backend's error in the page's error style when renaming a conversation deleted elsewhere", async () => {
    const user = someone();
    const page = await signedIn(user);
    await ask(page, 'Soon gone');
    await page.locator('#conversation-list .title').waitFor();
    expect((await api(user, 'DELETE', `conversations/${await currentId(page)}`)).status).toBe(204);

    await page.click('#conversation-list .rename');
    await page.fill('.rename-form input', 'Too late');
    await page.press('.rename-form input', 'Enter');

    await page.waitForSelector('.message.error');
    expect(await page.textContent('.message.error')).toMatch(/^No conversation "/);
    expect(await page.getAttribute('.message.error', 'title')).toMatch(/^not_found, request /);
    await expect.poll(() => titles(page)).toEqual([]);
    await page.close();
  });

  it("lists the key's service conversations when nobody is signed in, once an answer is stored", async () => {
    const page = await openPageOf(browser(), backend.host.url);
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.fill('#key', FUNCTION_KEY);
    expect(await page.isHidden('#conversations')).toBe(true);
    await ask(page, 'Server side question');

    await expect.poll(() => titles(page)).toContain('Server side question');
    expect((await listed(SERVICE)).map((c) => c.id)).toContain(await currentId(page));
    await page.close();
  });

  it('keeps the input and Send in a 900x700 window with a long list shown', async () => {
    const user = someone();
    for (let i = 1; i <= 30; i++) {
      const response = await api(user, 'POST', 'chat', { messages: [{ role: 'user', content: `Question ${i}` }] });
      expect(response.status).toBe(200);
    }
    const page = await signedIn(user, WINDOW);
    await expect.poll(() => page.locator('#conversation-list .conversation').count()).toBe(30);
    for (const question of ['What is Azure?', 'And Azure OpenAI?', 'Which regions have it?']) await ask(page, question);

    const layout = await page.evaluate<{ pageScrolls: boolean; listScrolls: boolean }>(`({
      pageScrolls: document.scrollingElement.scrollHeight > document.scrollingElement.clientHeight,
      listScrolls: document.getElementById('conversations').scrollHeight >
        document.getElementById('conversations').clientHeight,
    })`);
    expect(layout).toEqual({ pageScrolls: false, listScrolls: true });
    await expectInWindow(page, ['header', '#conversations', '#new-chat', '#question', '#send'], WINDOW);
    const question = (await page.locator('#question').boundingBox())!;
    expect(question.width, 'the input keeps most of the width').toBeGreaterThan(WINDOW.width / 2);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'demo-page-conversations.png') });
    await page.close();
  });
});
