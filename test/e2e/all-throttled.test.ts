import { RateLimitError, type APIError } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

it('answers 429 with the smallest Retry-After when every region is throttled, which the openai client raises as RateLimitError', async () => {
  backend.primary.setFault({ kind: 'throttle', retryAfterMs: 30_000 });
  backend.secondary.setFault({ kind: 'throttle', retryAfterMs: 20_000 });
  const error = await backend.openai.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RateLimitError);
  expect((error as APIError).headers?.get('retry-after')).toBe('20');
  expect((error as APIError).error).toMatchObject({ code: 'all_regions_throttled', requestId: expect.any(String) });
});
