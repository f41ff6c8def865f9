/**
 * `npm start`'s first step (scripts/build-if-stale.mjs) in a copy of the project's layout: the script itself, a
 * stand-in `typescript/bin/tsc` that counts its runs (the real compiler takes tens of seconds), and sources.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../transpile';

let root = '';

function write(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** Installs the stand-in compiler: it appends a line to `tsc-runs` and exits with TSC_EXIT (default 0). */
function installDependencies(): void {
  write(
    'node_modules/typescript/bin/tsc',
    `require('node:fs').appendFileSync(${JSON.stringify(join(root, 'tsc-runs'))}, process.argv.slice(2).join(' ') + '\\n');
     require('node:fs').mkdirSync(${JSON.stringify(join(root, 'dist', 'local'))}, { recursive: true });
     require('node:fs').writeFileSync(${JSON.stringify(join(root, 'dist', 'local', 'start.js'))}, '');
     process.exit(Number(process.env.TSC_EXIT ?? 0));`,
  );
  write('node_modules/typescript/package.json', '{"name":"typescript"}');
  write('node_modules/@azure/functions/package.json', '{"name":"@azure/functions"}');
}

function run(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const tscRuns = () =>
  existsSync(join(root, 'tsc-runs')) ? readFileSync(join(root, 'tsc-runs'), 'utf8').split('\n').filter(Boolean) : [];

/** Dates a file in the past, as a checkout older than the last build leaves it. */
function age(path: string, seconds: number): void {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(join(root, path), then, then);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(repoRoot, 'scripts', 'build-if-stale.mjs'), join(root, 'scripts', 'build-if-stale.mjs'));
  write('package.json', '{"name":"app"}');
  write('shared/a.ts', 'export const a = 1;');
  age('shared/a.ts', 60);
  age('scripts/build-if-stale.mjs', 60);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('scripts/build-if-stale.mjs', () => {
  it('says "run npm ci first" and exits 1 when the dependencies are not installed', () => {
    const result = run();
    expect(result.code).toBe(1);
    expect(result.output).toContain('run npm ci first');
    expect(result.output).not.toContain('not found');
  });

  it('compiles a fresh checkout, then starts without compiling while nothing changed', () => {
    installDependencies();
    expect(run().code).toBe(0);
    expect(tscRuns()).toEqual(['-p tsconfig.build.json']);
    expect(run().code).toBe(0);
    expect(run().code).toBe(0);
    expect(tscRuns()).toHaveLength(1);
  });

  it('compiles again when a source or the compiler settings are newer than the last build', () => {
    installDependencies();
    run();
    write('shared/a.ts', 'export const a = 2;');
    run();
    expect(tscRuns()).toHaveLength(2);
    write('tsconfig.json', '{}');
    run();
    expect(tscRuns()).toHaveLength(3);
    run();
    expect(tscRuns()).toHaveLength(3);
  });

  it('passes a failed build on and compiles again on the next start', () => {
    installDependencies();
    const failed = run({ TSC_EXIT: '2' });
    expect(failed.code).toBe(2);
    expect(run().code).toBe(0);
    expect(tscRuns()).toHaveLength(2);
  });

  it('runs before every npm script that starts dist/, in place of a full build', () => {
    const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['start', 'start:func', 'simulators', 'simulator', 'doctor', 'bench'])
      expect(scripts[name], name).toMatch(/^node scripts\/build-if-stale\.mjs && /);
  });
});
