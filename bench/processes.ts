/**
 * Child processes of the benchmark: simulated regions (`dist/simulator/cli.js`, so that a region can be killed
 * for real) and the backend (`dist/bench/server.js`, forked with an IPC channel).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { FromBackend, ToBackend } from './protocol';
import type { StreamTaps } from './tap';

const SIMULATOR_CLI = path.join(__dirname, '..', 'simulator', 'cli.js');
const BACKEND_SERVER = path.join(__dirname, 'server.js');

/** A free TCP port on loopback (bound and released: good enough for a benchmark on one machine). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Keeps the last lines a child wrote, for error messages. */
export function tail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (data: Buffer) => {
    lines.push(...data.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => lines.join('\n');
}

export type Latency = 'none' | 'realistic';

export interface SimulatorProcess {
  readonly region: string;
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the region vanishes mid-request, as in a crash. */
  kill(): Promise<void>;
  /** Starts the region again on the same port; resolves when it listens. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(options: {
  region: string;
  latency: Latency;
  port?: number;
  /** Length of the generated answers in tokens (the simulator's default when absent). */
  answerTokens?: number;
}): Promise<SimulatorProcess> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(
      process.execPath,
      [
        SIMULATOR_CLI,
        ...['--port', String(port), '--region', options.region, '--latency', options.latency],
        // The benchmark sends far more than a deployment's default quota; it measures the backend, not 429s.
        ...['--rpm', '100000000', '--tpm', '1000000000000'],
        ...(options.answerTokens === undefined ? [] : ['--answer-tokens', String(options.answerTokens)]),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = tail(started);
    await new Promise<void>((resolve, reject) => {
      started.stdout.on('data', (data: Buffer) => {
        if (data.toString('utf8').includes('listening on')) resolve();
      });
      started.once('exit', (code) => reject(new Error(`simulator ${options.region} exited (${code}): ${output()}`)));
    });
    child = started;
  };
  const kill = async () => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null) return;
    const exited = once(current, 'exit');
    current.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    region: options.region,
    port,
    url: `http://127.0.0.1:${port}`,
    kill,
    restart: launch,
    stop: kill,
  };
}

/** Sets a simulated region's fault (`POST /_sim/fault`, e.g. `{ kind: 'stall', afterChunks: 1 }`). */
export async function setSimulatorFault(
  region: SimulatorProcess,
  fault: { readonly kind: string } & Record<string, unknown>,
): Promise<void> {
  const response = await fetch(`${region.url}/_sim/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`${region.region}: setting fault ${fault.kind} answered ${response.status}`);
}

export interface BackendProcess {
  readonly url: string;
  readonly pid: number;
  /** Resident set and V8 heap in use (bytes), and CPU time used so far (user + system, microseconds). */
  stats(): Promise<{ rss: number; heapUsed: number; cpuMicros: number }>;
  setTap(enabled: boolean): Promise<void>;
  taps(): Promise<Record<string, StreamTaps>>;
  /** V8's CPU profiler in the backend process (bench/cpu-profiler.ts); `stop` writes the profile to `file`. */
  profile(action: 'start' | 'stop', file?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Regions as CHAT_REGIONS wants them, in priority order. */
export function regionsSetting(simulators: readonly SimulatorProcess[]): string {
  return JSON.stringify(
    simulators.map((s) => ({ name: s.region, endpoint: `${s.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } })),
  );
}

/**
 * Forks the backend with `settings` as app settings. Resolves when it reports ready (or, with `waitReady:
 * false`, at once: the cold-start measurement polls for the first answer itself).
 */
export async function startBackendProcess(options: {
  settings: Record<string, string>;
  port?: number;
}): Promise<BackendProcess> {
  const child = fork(BACKEND_SERVER, [], {
    env: {
      ...process.env,
      CHAT_AUTH_MODE: 'api-key',
      AZURE_OPENAI_API_KEY: 'simulator-key',
      PORT: String(options.port ?? 0),
      // Load shedding off: the other phases measure the backend at and past saturation on purpose, and a 503
      // would count as a failure there. bench/overload.ts turns it on to show it.
      CHAT_SHED_LAG_MS: '0',
      ...options.settings,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { url, ask, stop } = await ipcChild(child, 'backend');
  return {
    url,
    pid: child.pid ?? 0,
    stats: async () => {
      const reply = await ask({ type: 'stats' });
      return {
        rss: reply.rss ?? Number.NaN,
        heapUsed: reply.heapUsed ?? Number.NaN,
        cpuMicros: reply.cpuMicros ?? Number.NaN,
      };
    },
    setTap: async (enabled) => {
      await ask({ type: 'tap', enabled } as Omit<ToBackend, 'id'>);
    },
    taps: async () => (await ask({ type: 'taps' })).taps ?? {},
    profile: async (action, file) => {
      await ask({ type: 'profile', action, ...(file === undefined ? {} : { file }) } as Omit<ToBackend, 'id'>);
    },
    stop,
  };
}

/**
 * A forked child that reports `ready` with its URL (or `failed`) over IPC and answers requests by id: the backend
 * (bench/server.ts) and the Portkey gateway (bench/portkey-preload.ts). `stop` disconnects it, and kills it if it
 * has not exited 3 s later.
 */
export async function ipcChild(child: ChildProcess, name: string) {
  const output = tail(child);
  let nextId = 0;
  const pending = new Map<number, (reply: FromBackend & { type: 'reply' }) => void>();
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (message: FromBackend) => {
      if (message.type === 'ready') resolve(message.url);
      else if (message.type === 'failed') reject(new Error(`${name} failed to start: ${message.message}`));
      else pending.get(message.id)?.(message);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${output()}`)));
  });
  const ask = (message: Omit<ToBackend, 'id'>) =>
    new Promise<FromBackend & { type: 'reply' }>((resolve) => {
      const id = nextId++;
      pending.set(id, (reply) => {
        pending.delete(id);
        resolve(reply);
      });
      child.send({ ...message, id });
    });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  return { url, ask, stop };
}
