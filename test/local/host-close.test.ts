// Closing a host is a test of its own: the host is one per process (and per test file), and a test that
// closes it would take it away from every test shuffled after it.
import { expect, it } from 'vitest';
import { silentLogger, startLocalHost } from '../../local/host';
import { recordedEvents } from './fixtures/signals';

it('runs appTerminate hooks on close and stops serving', async () => {
  const host = await startLocalHost({ entry: 'test/local/fixtures/buffered/*.ts', port: 0, logger: silentLogger });
  expect((await fetch(`${host.url}/api/items`)).status).toBe(200);
  await host.close();
  expect(recordedEvents()).toContain('appTerminate');
  await expect(fetch(`${host.url}/api/items`)).rejects.toThrow();
});
