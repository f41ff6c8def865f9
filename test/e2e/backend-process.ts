/**
 * The backend as a process of its own (`npm start`'s script, transpiled), as Azure runs an instance of the
 * app: for tests of what holds across instances and restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { regionsSetting } from '../shared/two-regions';
import { repoRoot, transpile } from '../transpile';

/**
 * The settings of a backend process on two simulated regions (plain key) and a given table store, on free ports;
 * `extra` adds or overrides settings.
 */
export function processSettings(
  regions: readonly [{ url: string }, { url: string }],
  storageConnectionString: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    CHAT_REGIONS: regionsSetting(regions[0], regions[1]),
    CHAT_AUTH_MODE: 'api-key',
    AZURE_OPENAI_API_KEY: 'simulator-key',
    CHAT_STORAGE_CONNECTION_STRING: storageConnectionString,
    PORT: '0',
    IDENTITY_PROVIDER_PORT: '0',
    ...extra,
  };
}

/** Transpiles the app into a new temporary folder and returns it (remove it when done). */
export function transpiledApp(prefix: string): string {
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  transpile(['functions', 'local', 'simulator', 'shared'], outDir, 'nodenext');
  writeFileSync(join(outDir, 'package.json'), JSON.stringify({ main: 'functions/*.js' }));
  copyFileSync(join(repoRoot, 'host.json'), join(outDir, 'host.json'));
  return outDir;
}

/** Starts `local/start.js` of `outDir` and resolves with its API base URL once it prints it, and what it printed. */
export function startBackendProcess(
  outDir: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [join(outDir, 'local', 'start.js')], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? '', NODE_PATH: join(repoRoot, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const url = /Chat backend at (http:\/\/\S+\/api)/.exec(output)?.[1];
      if (url) resolve({ url, child, output: () => output });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`backend exited with ${code}: ${output}`)));
  });
}

/** Ends a backend process and waits for it to be gone. */
export async function stopBackendProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
