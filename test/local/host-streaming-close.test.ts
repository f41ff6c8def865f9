// Closing a host is a test of its own: the host is one per process (and per test file), and a test that
// closes it would take it away from every test shuffled after it.
import diagnosticsChannel from 'node:diagnostics_channel';
import type * as net from 'node:net';
import { expect, it } from 'vitest';
import { silentLogger, startLocalHost } from '../../local/host';

it('listens on loopback only, its own server and the library proxy, and closes both, leaving nothing listening', async () => {
  // Every server that starts listening while the host starts: its own and the library's proxy (which the host
  // moves to loopback, so it starts listening twice).
  const started = new Set<net.Server>();
  const record = (message: unknown) => started.add((message as { server: net.Server }).server);
  diagnosticsChannel.subscribe('tracing:net.server.listen:asyncEnd', record);
  const host = await startLocalHost({
    entry: 'test/local/fixtures/streaming/app.ts',
    port: 0,
    logger: silentLogger,
  }).finally(() => diagnosticsChannel.unsubscribe('tracing:net.server.listen:asyncEnd', record));
  const startedServers = [...started];

  expect(startedServers.filter((s) => s.listening)).toHaveLength(2);
  // The library's proxy listens on every interface; the host moved it to loopback.
  expect(startedServers.map((s) => (s.address() as net.AddressInfo).address)).toEqual(['127.0.0.1', '127.0.0.1']);
  await host.close();
  expect(startedServers.filter((s) => s.listening)).toHaveLength(0);
  await expect(fetch(`${host.url}/api/things/1`)).rejects.toThrow();
});
