/**
 * Azurite's table service (npm package `azurite`, a dev dependency) as a child process: the local
 * stand-in for Azure Table Storage, where per-user quotas (and conversations) live. `npm start` runs it
 * on a data folder in the repository (`.azurite/`, gitignored) so counters survive a restart; tests run
 * it on a temporary folder and a free port.
 *
 * Azurite accepts `--tablePort 0` but then reports port 0 and gives no way to learn the real one, so a
 * free port is found first by binding a socket to port 0 (and a lost race is retried with another one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Azurite's well-known development account, published in Azurite's README and Microsoft's docs
 * ("Use the Azurite emulator"): the same for every Azurite, a public value, not a secret. The key is
 * split so the committed text never looks like a real account key to secret scanners.
 */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_PUBLISHED_DEV_KEY = [
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq',
  '/K1SZFPTOtr/KBHBeksoGMGw==',
].join('');

export interface AzuriteOptions {
  /** Folder for Azurite's data (`__azurite_db_table__.json`); created if missing. */
  readonly location: string;
  /** Table service port; 0 (default) picks a free one. Azurite's own default is 10002. */
  readonly port?: number;
  /** Loopback only by default: the dev account's key is public. */
  readonly host?: string;
  /** How long to wait for "successfully started", ms. Default 20 000 (a busy 2-core machine). */
  readonly startTimeoutMs?: number;
  /** Default `table`. `blob` serves `AzureWebJobsStorage` for `func start` (the endpoint then is the blob one). */
  readonly service?: AzuriteService;
}

export interface Azurite {
  /** Connection string for `TableClient.fromConnectionString` (`CHAT_STORAGE_CONNECTION_STRING`). */
  readonly connectionString: string;
  /** e.g. `http://127.0.0.1:10002/devstoreaccount1`. */
  readonly tableEndpoint: string;
  readonly port: number;
  /** Ends Azurite (SIGINT; SIGKILL once its data is saved, or after 5 s) and waits for it. */
  stop(): Promise<void>;
}

/** The connection string of Azurite's dev account for a table endpoint. */
export function azuriteConnectionString(tableEndpoint: string): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_PUBLISHED_DEV_KEY}`,
    `TableEndpoint=${tableEndpoint}`,
  ].join(';');
}

/** Azurite's services this project runs: tables (quotas, conversations) and blobs (the Functions host's own storage). */
export type AzuriteService = 'table' | 'blob';

/** The path of the `azurite-table` (or `azurite-blob`) bin script, resolved from the installed package (no install script needed). */
export function azuriteTableBin(service: AzuriteService = 'table'): string {
  const manifestPath = createRequire(__filename).resolve('azurite/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  const bin = manifest.bin?.[`azurite-${service}`];
  if (!bin) throw new Error(`The azurite package at ${dirname(manifestPath)} has no azurite-${service} bin.`);
  return join(dirname(manifestPath), bin);
}

/** A port nobody listens on right now (the OS picks it), for Azurite, which cannot report a port 0 of its own. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('No TCP port could be had.');
  return address.port;
}

/** Starts Azurite's table service and resolves once it accepts requests. */
export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.location, { recursive: true });
  // Only a port picked here can be lost to a race; a port the caller chose is theirs to keep free.
  const tries = options.port ? 1 : 3;
  let lastError: unknown;
  for (let attempt = 0; attempt < tries; attempt++) {
    const port = options.port || (await freePort(host));
    try {
      const child = await spawnAzurite({ ...options, host, port });
      const tableEndpoint = `http://${host}:${port}/${AZURITE_ACCOUNT}`;
      return { connectionString: azuriteConnectionString(tableEndpoint), tableEndpoint, port, stop: () => stop(child) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function spawnAzurite(
  options: Required<Omit<AzuriteOptions, 'startTimeoutMs' | 'service'>> & AzuriteOptions,
): Promise<ChildProcess> {
  const service = options.service ?? 'table';
  const args = [
    azuriteTableBin(service),
    ...[`--${service}Host`, options.host, `--${service}Port`, String(options.port), '--location', options.location],
    // No usage reports leave this machine; clients of any API version are served; no access log.
    ...['--disableTelemetry', '--skipApiVersionCheck', '--silent'],
  ];
  const child = spawn(process.execPath, args, { cwd: options.location, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(`did not start within ${options.startTimeoutMs ?? 20_000} ms`),
      options.startTimeoutMs ?? 20_000,
    );
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new Error(
          `Azurite (${service} service on ${options.host}:${options.port}) ${why}. Its output: ${output.slice(-2000)}`,
        ),
      );
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      // Printed once the HTTP server listens (Azurite's table/main.ts, blob/main.ts: "successfully listens"), so
      // requests are accepted from here on.
      if (/successfully (started|listens)/i.test(output)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited (${signal ?? `code ${code}`}) while starting`);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (error) => fail(`could not be started: ${error.message}`));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGINT is what Azurite's table service closes on cleanly, saving its data file (SIGTERM would lose
  // up to 5 s of writes: its LokiJS store autosaves every 5 s). Once it says "successfully closed" the
  // data is saved, but the process lingers while idle keep-alive connections time out: end it then.
  const closed = (chunk: Buffer) => {
    if (/successfully closed/i.test(chunk.toString('utf8'))) child.kill('SIGKILL');
  };
  child.stdout?.on('data', closed);
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  child.stdout?.off('data', closed);
}

export interface LocalStorageOptions {
  /** The repository root: Azurite keeps its data in `<root>/.azurite` (gitignored), so counts survive a restart. */
  readonly repoRoot: string;
  /** The settings `npm start` runs with; a configured store is used as it is. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Table port (default 10002, Azurite's own, so Azure Storage Explorer finds it); 0 picks a free one. */
  readonly port?: number;
}

/** What `npm start` should do about storage: use the configured store, or the Azurite started here. */
export type LocalStorage =
  | { readonly kind: 'configured' }
  | {
      readonly kind: 'azurite';
      readonly azurite: Azurite;
      readonly env: { readonly CHAT_STORAGE_CONNECTION_STRING: string };
    };

/** The development-storage shortcut (`UseDevelopmentStorage=true`): Azurite's account on its default ports. */
export function isDevelopmentStorage(value: string | undefined): boolean {
  return value?.replace(/\s+/g, '').replace(/;$/, '').toLowerCase() === 'usedevelopmentstorage=true';
}

/**
 * For `npm start`: when neither `CHAT_STORAGE_CONNECTION_STRING` nor `CHAT_STORAGE_TABLE_ENDPOINT` is set, or the
 * connection string is `UseDevelopmentStorage=true` (as local.settings.json.example has it, for `func start`) and
 * no Azurite serves its port yet, starts Azurite's table service on `.azurite/` and returns the setting that points
 * the app at it. An Azurite already on the port (`npm run simulators`) is used as it is.
 */
export async function ensureLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const devStorage = isDevelopmentStorage(options.env.CHAT_STORAGE_CONNECTION_STRING);
  const configured = ['CHAT_STORAGE_CONNECTION_STRING', 'CHAT_STORAGE_TABLE_ENDPOINT'].some((name) =>
    Boolean(options.env[name]?.trim()),
  );
  const port = options.port ?? 10_002;
  if (configured && !(devStorage && (await portIsFree(port)))) return { kind: 'configured' };
  let azurite: Azurite;
  try {
    azurite = await startAzurite({ location: join(options.repoRoot, '.azurite'), port });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Could not start Azurite on 127.0.0.1:${port} for the quota store (${why}). If an Azurite already runs there, ` +
        'point the app at it with CHAT_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true; or choose another ' +
        'port with AZURITE_TABLE_PORT.',
      { cause: error },
    );
  }
  return { kind: 'azurite', azurite, env: { CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString } };
}

/** Whether nothing listens on `port` of loopback (a bind succeeds). */
async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}
