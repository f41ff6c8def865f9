/* global console, process */
// Before `npm start` (and the other scripts that run dist/): says "run npm ci first" when the dependencies are not
// installed, instead of the shell's `tsc: not found`; then compiles only when a source is newer than the last
// build, so an up-to-date checkout starts at once (the TypeScript compiler alone takes 10-60 s to load the
// project, even with nothing to emit). Plain JavaScript: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// What tsconfig.build.json compiles, and the files that change how it compiles.
const SOURCE_DIRS = ['functions', 'shared', 'simulator', 'local', 'bench', 'scripts'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
// Written after each build this script ran to its end: tsc's own .tsbuildinfo is not rewritten by a build that
// had nothing to emit, so its age says nothing.
const STAMP = join(root, 'dist', '.build-stamp');

function requireFrom(name) {
  try {
    return createRequire(join(root, 'package.json')).resolve(name);
  } catch {
    return undefined;
  }
}

/** The newest modification time (ms) of the TypeScript sources and the build's configuration. */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path))
        if (entry !== 'node_modules' && entry !== 'results') visit(join(path, entry));
    } else if (path.endsWith('.ts') || CONFIG_FILES.some((f) => path === join(root, f))) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) visit(join(root, dir));
  for (const file of CONFIG_FILES) visit(join(root, file));
  return newest;
}

const tsc = requireFrom('typescript/bin/tsc');
if (!tsc || !requireFrom('@azure/functions/package.json')) {
  console.error('The dependencies are not installed: run npm ci first (in ' + root + ').');
  process.exit(1);
}

const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (built > 0 && built >= newestSource() && existsSync(join(root, 'dist', 'local', 'start.js'))) process.exit(0);

console.log('Compiling (tsc -p tsconfig.build.json)...');
// A build that fails or is interrupted must not count as up to date on the next start.
rmSync(STAMP, { force: true });
const startedAt = new Date();
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// Dated when the build began: a source saved while tsc ran is newer, so the next start compiles it.
writeFileSync(STAMP, '');
utimesSync(STAMP, startedAt, startedAt);
