// A file of its own: the outage opens the primary's breaker, which every later test in the same backend
// would see (tests run shuffled in CI).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

it('keeps answering while the primary is down: no request lost', async () => {
  backend.primary.setFault({ kind: 'outage', mode: 'refuse' });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () =>
      backend.openai.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
      }),
    ),
  );
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  expect(results.filter((r) => r.status === 'fulfilled').length).toBe(20);
  expect(backend.secondary.stats().byStatus['200']).toBeGreaterThanOrEqual(20);
});
