/**
 * The project's TypeScript transpiled as `npm run build` emits it (type checking is `npm run typecheck`'s job),
 * for tests that run a script in a child process without depending on a fresh `dist/`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export const repoRoot = join(__dirname, '..');

/**
 * Transpiles each `.ts` file under `folders` (repo-relative folders or files) into `into`, keeping their paths.
 * `nodenext` keeps `import()` as it is (the local host loads entry files by file URL), where `commonjs`
 * turns it into `require()`.
 */
export function transpile(
  folders: readonly string[],
  into: string,
  module: 'commonjs' | 'nodenext' = 'commonjs',
): void {
  for (const folder of folders) {
    const path = join(repoRoot, folder);
    const files = folder.endsWith('.ts')
      ? [path]
      : readdirSync(path, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
          .map((e) => join(e.parentPath, e.name));
    // The project's packages, found as from the repository: NODE_PATH serves require() only, never import().
    const modules = join(into, 'node_modules');
    if (!existsSync(modules)) {
      mkdirSync(into, { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules'), modules, 'dir');
    }
    for (const source of files) {
      const output = ts.transpileModule(readFileSync(source, 'utf8'), {
        fileName: source,
        compilerOptions: {
          module: module === 'nodenext' ? ts.ModuleKind.NodeNext : ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      }).outputText;
      const target = join(into, relative(repoRoot, source)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, output);
    }
  }
}
