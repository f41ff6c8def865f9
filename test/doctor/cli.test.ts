/**
 * `npm run doctor` as a user runs it: a separate node process on the compiled script, configured by
 * local.settings.json and the environment, against two simulated regions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, transpile } from '../transpile';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator';
import { regionsSetting, startTwoRegions, type TwoRegions } from '../shared/two-regions';

let outDir: string;
let cwd: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  /** ms from spawn at which each stdout line arrived. */
  readonly lineTimes: readonly { readonly line: string; readonly atMs: number }[];
  readonly exitMs: number;
}

function runDoctorCli(env: Record<string, string>): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(outDir, 'scripts', 'doctor.js')], {
    cwd,
    // Only what the doctor needs; NODE_PATH finds the project's packages from the temp build.
    env: { PATH: process.env.PATH ?? '', NODE_PATH: join(repoRoot, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lineTimes: { line: string; atMs: number }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const line of chunk.split('\n').filter(Boolean)) lineTimes.push({ line, atMs: Date.now() - started });
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (stderr.trim() !== '') reject(new Error(`doctor wrote to stderr: ${stderr}`));
      else resolve({ code, stdout, lineTimes, exitMs: Date.now() - started });
    });
  });
}

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'doctor-cli-'));
  transpile(['scripts', 'shared', 'local/host'], outDir);
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
  cwd = mkdtempSync(join(tmpdir(), 'doctor-cwd-'));
});
afterEach(async () => {
  await regions.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('npm run doctor', () => {
  it('prints one progress line per check as it completes, then the report, and exits 0 when all pass', async () => {
    // A slow secondary: the primary's lines must be out long before the process ends.
    regions.secondary.setFault({ kind: 'latency', latencyMs: 400 });
    const run = await runDoctorCli({
      CHAT_REGIONS: regionsSetting(regions.primary, regions.secondary),
      AZURE_OPENAI_API_KEY: 'simulator-key',
    });
    expect(run.code).toBe(0);
    const progress = run.lineTimes.filter((l) => /^\s+(eastus2|swedencentral)\s+(ok|FAIL)/.test(l.line));
    expect(progress).toHaveLength(8);
    const firstPrimary = progress.find((l) => l.line.includes('eastus2'));
    expect(run.exitMs - (firstPrimary?.atMs ?? run.exitMs)).toBeGreaterThanOrEqual(300);
    expect(run.stdout).toContain('Checking 2 region(s), 4 deployment(s), auth mode api-key');
    expect(run.stdout).toContain('All 8 checks passed');
  });

  it('reads local.settings.json, explains each failure and exits 1', async () => {
    writeFileSync(
      join(cwd, 'local.settings.json'),
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          CHAT_REGIONS: regionsSetting(regions.primary, regions.secondary),
          AZURE_OPENAI_API_KEY: 'not-the-key',
        },
      }),
    );
    const run = await runDoctorCli({});
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/eastus2\s+FAIL completion gpt-4o\s+\d+ ms\s+key_rejected/);
    expect(run.stdout).toContain('rejected the API key from AZURE_OPENAI_API_KEY');
    expect(run.stdout).toContain('4 of 8 checks failed.');
    expect(run.stdout).not.toContain('not-the-key');
  });

  it('lets environment variables win over local.settings.json, as func start does', async () => {
    writeFileSync(
      join(cwd, 'local.settings.json'),
      JSON.stringify({ Values: { CHAT_REGIONS: '[]', AZURE_OPENAI_API_KEY: 'simulator-key' } }),
    );
    const run = await runDoctorCli({ CHAT_REGIONS: regionsSetting(regions.primary, regions.secondary) });
    expect(run.code).toBe(0);
  });

  it('says to run npm start or npm run simulators when the local simulators are stopped', async () => {
    const stopped = await startSimulator({ port: 0, region: 'eastus2' });
    await stopped.close();
    const run = await runDoctorCli({
      CHAT_REGIONS: regionsSetting(stopped, stopped),
      AZURE_OPENAI_API_KEY: 'simulator-key',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/eastus2\s+FAIL endpoint\s+\d+ ms\s+region_unavailable/);
    expect(run.stdout).toContain('ECONNREFUSED');
    expect(run.stdout).toContain('npm start');
    expect(run.stdout).toContain('npm run simulators');
  });

  it('names the missing setting and exits 2 when there is nothing to check', async () => {
    const run = await runDoctorCli({});
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Setting CHAT_REGIONS is missing');
    expect(run.stdout).toContain('local.settings.json.example');
  });
});
