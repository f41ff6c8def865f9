/**
 * The backend under test, in a process of its own so that its resident set is its own and the benchmark can
 * start it cold: the local Functions host loading the compiled function files (package.json `main`), configured
 * through the environment as in Azure (CHAT_REGIONS, CHAT_AUTH_MODE, ...), on `PORT` (0 = any). Started by
 * `bench/run.ts` with `child_process.fork`; reports `ready` with its URL over IPC and answers `stats`/`tap`/`taps`.
 */
import * as path from 'node:path';
import { silentLogger, startLocalHost } from '../local/host';
import { BENCH_FUNCTION_KEY, type FromBackend, type ToBackend } from './protocol';
import { cpuProfiler } from './cpu-profiler';
import { installBackendTaps, type BackendTaps } from './tap';

let hostPort = -1;
// Off for the CPU profile (bench/profile.ts): the taps wrap `fetch` and every response write.
const tap: BackendTaps =
  process.env.BENCH_TAPS === 'off'
    ? { setEnabled: () => undefined, take: () => ({}) }
    : installBackendTaps(() => hostPort);
const profiler = cpuProfiler();

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
          const { rss, heapUsed } = process.memoryUsage();
          send({ type: 'reply', id: message.id, rss, heapUsed, cpuMicros: cpu.user + cpu.system });
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
      case 'profile':
        // Replies either way: a failure (say, a folder that is not there) is the bench's to report, not to wait on.
        void (message.action === 'start' ? profiler.start() : profiler.stop(message.file ?? 'backend.cpuprofile'))
          .catch((error: unknown) => console.error(`profile ${message.action} failed: ${String(error)}`))
          .then(() => send({ type: 'reply', id: message.id }));
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
