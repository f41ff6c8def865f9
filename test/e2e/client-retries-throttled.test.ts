/**
 * When every region is throttled for a moment only, the backend lets the official openai client retry on
 * its own (default retries): the window is short enough that the user does not wait long.
 */
import { APIError } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_MAX_THROTTLE_WAIT_MS: '0' });
});
afterAll(async () => {
  await backend.close();
});

it('lets the client retry on its own when every region is throttled for less than two seconds', async () => {
  backend.primary.setFault({ kind: 'throttle', retryAfterMs: 50 });
  backend.secondary.setFault({ kind: 'throttle', retryAfterMs: 50 });
  const { client, requests } = backend.countingClient();
  const error = await client.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(APIError);
  expect((error as APIError).status).toBe(429);
  expect((error as APIError).headers?.get('x-should-retry')).toBe('true');
  expect(Number((error as APIError).headers?.get('retry-after-ms'))).toBeLessThanOrEqual(2_000);
  expect(requests()).toBe(3);
});
