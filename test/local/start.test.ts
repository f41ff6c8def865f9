/**
 * `npm start` as a user runs it, a node process on the compiled script, when one of its ports is taken
 * (say by `npm run simulators` in another terminal): one line that says which port, what for and the way out.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azuriteConnectionString } from '../../local/azurite';
import { repoRoot, transpile } from '../transpile';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let outDir: string;
let cwd: string;
let taken: net.Server;
let takenPort: number;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runStart(env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [join(outDir, 'local', 'start.js')], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_PATH: join(repoRoot, 'node_modules'),
      SIMULATOR_LATENCY: 'none',
      // Free ports and no Azurite: only the ports under test may be fixed.
      IDENTITY_PROVIDER_PORT: '0',
      // A store nobody serves: configured, so npm start starts no Azurite of its own.
      CHAT_STORAGE_CONNECTION_STRING: azuriteConnectionString('http://127.0.0.1:9/devstoreaccount1'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A guard, not a wait: a start-up that wrongly succeeds would otherwise run until killed.
    signal: AbortSignal.timeout(15_000),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'start-cli-'));
  transpile(['local', 'simulator', 'shared'], outDir, 'nodenext');
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

beforeEach(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'start-cwd-'));
  // An app with no functions: enough for the host to start (or to fail to bind).
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ main: 'app.js' }));
  writeFileSync(join(cwd, 'app.js'), '');
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as net.AddressInfo).port;
});
afterEach(async () => {
  await new Promise((resolve) => taken.close(resolve));
  rmSync(cwd, { recursive: true, force: true });
});

describe('npm start with a port already taken', () => {
  it('names the simulated region, the way out and the setting, in one line, and exits 1', async () => {
    const run = await runStart({ SIMULATOR_PRIMARY_PORT: String(takenPort), SIMULATOR_SECONDARY_PORT: '0', PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `Port ${takenPort} is already in use, so the simulated region eastus2 cannot start ` +
        '(is `npm run simulators` or another `npm start` running?). Stop that process, set CHAT_REGIONS ' +
        '(local.settings.json.example names the simulated regions on 7081 and 7082) with CHAT_SIMULATOR=false to ' +
        'use regions already running or real Azure, or choose another port with SIMULATOR_PRIMARY_PORT.',
    ]);
  });

  it('offers CHAT_SIMULATOR=false alone when CHAT_REGIONS is set and the simulator is forced on', async () => {
    const run = await runStart({
      CHAT_REGIONS: '[]',
      CHAT_SIMULATOR: 'true',
      SIMULATOR_PRIMARY_PORT: '0',
      SIMULATOR_SECONDARY_PORT: String(takenPort),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Port ${takenPort} is already in use, so the simulated region swedencentral`);
    expect(run.stderr).toContain('set CHAT_SIMULATOR=false to use the regions CHAT_REGIONS names instead');
    expect(run.stderr).toContain('SIMULATOR_SECONDARY_PORT');
  });

  it('names the API host and PORT when the API port is taken, with no stack trace', async () => {
    const run = await runStart({ SIMULATOR_PRIMARY_PORT: '0', SIMULATOR_SECONDARY_PORT: '0', PORT: String(takenPort) });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Simulated Azure OpenAI region eastus2');
    expect(run.stderr.trim()).toBe(
      `Port ${takenPort} is already in use, so the API host cannot start (is another \`npm start\` or ` +
        '`func start` running?). Stop that process, or choose another port with PORT (or Host.LocalHttpPort in ' +
        'local.settings.json).',
    );
  });
});
