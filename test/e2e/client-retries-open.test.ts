/**
 * With every region's breaker open, the official openai client (default retries) shows the error after
 * one request: a retry inside the breakers' cool-down could not succeed, so the backend does not invite it.
 */
import { APIError } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_BREAKER_FAILURES: '1', CHAT_BREAKER_COOLDOWN_MS: '30000' });
});
afterAll(async () => {
  await backend.close();
});

it('gives up after one request when every breaker is open, with the time until a region is tried again', async () => {
  backend.primary.setFault({ kind: 'outage' });
  backend.secondary.setFault({ kind: 'outage' });
  const chat = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
  await backend.openai.chat.completions.create(chat).catch(() => undefined); // opens both breakers

  const { client, requests } = backend.countingClient();
  const error = await client.chat.completions.create(chat).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(APIError);
  expect((error as APIError).status).toBe(503);
  expect((error as APIError).error).toMatchObject({ code: 'all_regions_failed' });
  expect(requests()).toBe(1);
  const headers = (error as APIError).headers;
  expect(headers?.get('x-should-retry')).toBe('false');
  expect(Number(headers?.get('retry-after'))).toBeGreaterThan(2);
  expect(Number(headers?.get('retry-after'))).toBeLessThanOrEqual(30);
});
