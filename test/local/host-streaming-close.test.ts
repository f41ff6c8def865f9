// Closing a host is a test of its own: the host is one per process (and per test file), and a test that
// closes it would take it away from every test shuffled after it.
import diagnosticsChannel from 'node:diagnostics_channel';
import type * as net from 'node:net';
import { expect, it } from 'vitest';
import { silentLogger, startLocalHost } from '../../local/host';

it('closes its own server and the library proxy server on close, leaving nothing listening', async () => {
  // Every server that starts listening while the host starts: its own and the library's proxy.
  const startedServers: net.Server[] = [];
  const record = (message: unknown) => startedServers.push((message as { server: net.Server }).server);
  diagnosticsChannel.subscribe('tracing:net.server.listen:asyncEnd', record);
  const host = await startLocalHost({
    entry: 'test/local/fixtures/streaming/app.ts',
    port: 0,
    logger: silentLogger,
  }).finally(() => diagnosticsChannel.unsubscribe('tracing:net.server.listen:asyncEnd', record));

  expect(startedServers.filter((s) => s.listening)).toHaveLength(2);
  await host.close();
  expect(startedServers.filter((s) => s.listening)).toHaveLength(0);
  await expect(fetch(`${host.url}/api/things/1`)).rejects.toThrow();
});
