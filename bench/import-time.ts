/**
 * Import time, in a fresh process, behind the same `@azure/functions-core` stand-in the local host installs:
 * - `bare`: `@azure/functions` and `openai` alone;
 * - `entry`: the app's entry files (package.json `main`), as the host loads them;
 * - `breakdown`: the bare pair, then each other dependency the entry pulls in, then the entry itself (what is
 *   left is the app's own code). Prints JSON: `{"ms": n}` or `{"steps": [[name, ms], ...]}`.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCoreApi, FunctionAppState, installCoreModule } from '../local/host/coreApi';
import { resolveEntryFiles } from '../local/host/entry';

/**
 * Dependencies the entry loads beyond the bare pair (see shared/*.ts imports). @azure/identity and
 * @azure/keyvault-secrets are loaded on first use by the auth mode that needs them, not at import.
 */
const EXTRA_DEPENDENCIES = ['zod'];

async function timed(files: readonly string[]): Promise<number> {
  const started = performance.now();
  for (const file of files) await import(pathToFileURL(file).href);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const which = process.argv[2];
  const bare = [require.resolve('@azure/functions'), require.resolve('openai')];
  const entry = resolveEntryFiles(path.resolve(__dirname, '../..'));
  installCoreModule(createCoreApi(new FunctionAppState(() => {})));
  switch (which) {
    case 'bare':
      process.stdout.write(JSON.stringify({ ms: await timed(bare) }));
      return;
    case 'entry':
      process.stdout.write(JSON.stringify({ ms: await timed(entry) }));
      return;
    case 'breakdown': {
      const steps: [string, number][] = [['@azure/functions + openai', await timed(bare)]];
      for (const name of EXTRA_DEPENDENCIES) steps.push([name, await timed([require.resolve(name)])]);
      steps.push(['the rest: functions/, shared/ and what else they import', await timed(entry)]);
      process.stdout.write(JSON.stringify({ steps }));
      return;
    }
    default:
      throw new Error('usage: import-time.js bare|entry|breakdown');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
