/**
 * The backend under test, in a process of its own so that its resident set is its own and the benchmark can
 * start it cold: the local Functions host loading the compiled function files (package.json `main`), configured
 * through the environment as in Azure (CHAT_REGIONS, CHAT_AUTH_MODE, ...), on `PORT` (0 = any). Started by
 * `bench/run.ts` with `child_process.fork`; reports `ready` with its URL over IPC and answers `stats`/`tap`/`taps`.
 */
import * as path from 'node:path';
import { silentLogger, startLocalHost } from '../local/host';
import { BENCH_FUNCTION_KEY, type FromBackend, type ToBackend } from './protocol';
import { installBackendTaps } from './tap';

let hostPort = -1;
const tap = installBackendTaps(() => hostPort);

function send(message: FromBackend): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const host = await startLocalHost({
    cwd: path.resolve(__dirname, '../..'),
    port: Number(process.env.PORT ?? 0),
    functionKeys: [BENCH_FUNCTION_KEY],
    // Logs would cost the backend and flood the benchmark's output; Azure ships them asynchronously.
    logger: silentLogger,
  });
  hostPort = host.port;
  process.on('message', (message: ToBackend) => {
    switch (message.type) {
      case 'stats':
        {
          const cpu = process.cpuUsage();
          send({ type: 'reply', id: message.id, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
          break;
        }
        break;
      case 'tap':
        tap.setEnabled(message.enabled);
        send({ type: 'reply', id: message.id });
        break;
      case 'taps':
        send({ type: 'reply', id: message.id, taps: tap.take() });
        break;
    }
  });
  process.once('disconnect', () => {
    void host.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: host.url });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
