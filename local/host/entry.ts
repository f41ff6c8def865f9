import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The files to load, like the worker's `loadEntryPointFile`: `entry` (default: package.json `main`), relative to
 * `cwd`, where the last path segment may contain `*` (`dist/functions/*.js`). Sorted for a stable order.
 */
export function resolveEntryFiles(cwd: string, entry?: string): readonly string[] {
  const pattern = entry ?? readPackageMain(cwd);
  const absolute = path.resolve(cwd, pattern);
  const dir = path.dirname(absolute);
  const base = path.basename(absolute);
  if (dir.includes('*')) {
    throw new Error(`Entry "${pattern}": only the last path segment may contain "*".`);
  }
  if (!base.includes('*')) {
    if (!fs.existsSync(absolute))
      throw new Error(`Entry "${pattern}" does not exist in ${cwd}. Did you build the app?`);
    return [absolute];
  }
  const regex = new RegExp(`^${base.split('*').map(escapeRegExp).join('[^/]*')}$`);
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isFile() && regex.test(d.name))
        .map((d) => path.join(dir, d.name))
        .sort()
    : [];
  if (files.length === 0) {
    throw new Error(`Found zero files matching entry "${pattern}" in ${cwd}. Did you build the app?`);
  }
  return files;
}

/**
 * Loads one entry file. `import()` handles CommonJS and ES modules alike (the worker picks `require` or
 * `import()` by file type; for CommonJS both go through the same CJS loader, so the core module hook applies).
 */
export async function loadEntryFile(file: string): Promise<void> {
  await import(pathToFileURL(file).href);
}

function readPackageMain(cwd: string): string {
  const file = path.join(cwd, 'package.json');
  const pkg: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const main = typeof pkg === 'object' && pkg !== null ? (pkg as { main?: unknown }).main : undefined;
  if (typeof main !== 'string' || main.length === 0) {
    throw new Error(`${file} has no "main"; set it to the functions entry, e.g. "dist/functions/*.js".`);
  }
  return main;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
