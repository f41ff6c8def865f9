/**
 * Cold start with telemetry off and on. Each run is a fresh process behind the same
 * `@azure/functions-core` stand-in the local host installs: it loads the app's entry files (package.json
 * `main`, as the worker does), then builds the production services (the appStart hook's work) and
 * waits until telemetry is ready (for `on`: applicationinsights loaded and started).
 *
 *   npm run build && node dist/bench/cold-start-telemetry.js [runs]
 *
 * Prints a JSON line per mode with median milliseconds and the number of CommonJS modules loaded.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCoreApi, FunctionAppState, installCoreModule } from '../local/host/coreApi';
import { resolveEntryFiles } from '../local/host/entry';
import { median } from './stats';

interface Run {
  readonly entryMs: number;
  readonly wiringMs: number;
  readonly totalMs: number;
  readonly modules: number;
}

const root = path.resolve(__dirname, '../..');

const baseEnv = {
  CHAT_REGIONS: JSON.stringify([
    { name: 'eastus2', endpoint: 'http://127.0.0.1:7081/', deployments: { 'gpt-4o': 'gpt-4o' } },
    { name: 'swedencentral', endpoint: 'http://127.0.0.1:7082/', deployments: { 'gpt-4o': 'gpt-4o' } },
  ]),
  CHAT_AUTH_MODE: 'api-key',
  AZURE_OPENAI_API_KEY: 'simulator-key',
  // The SDK's own usage telemetry would try to reach a Microsoft endpoint.
  APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
};

/** A zero instrumentation key, assembled so no source line looks like a real connection string. */
const connectionString = `InstrumentationKey=${['00000000', '0000', '0000', '0000', '000000000000'].join('-')};IngestionEndpoint=https://127.0.0.1:9/`;

async function child(): Promise<void> {
  installCoreModule(createCoreApi(new FunctionAppState(() => {})));
  const started = performance.now();
  for (const file of resolveEntryFiles(root)) await import(pathToFileURL(file).href);
  const entryLoaded = performance.now();
  const { productionServices } = await import('../shared/production.js');
  await productionServices().telemetry.ready();
  const done = performance.now();
  const run: Run = {
    entryMs: entryLoaded - started,
    wiringMs: done - entryLoaded,
    totalMs: done - started,
    modules: Object.keys(require.cache).length,
  };
  process.stdout.write(JSON.stringify(run));
  process.exit(0);
}

function parent(runs: number): void {
  for (const mode of ['off', 'on'] as const) {
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) {
      const env = {
        ...process.env,
        ...baseEnv,
        ...(mode === 'on' ? { APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString } : {}),
      };
      if (mode === 'off') delete env.APPLICATIONINSIGHTS_CONNECTION_STRING;
      const out = execFileSync(process.execPath, [__filename, '--child'], { env, cwd: root, encoding: 'utf8' });
      results.push(JSON.parse(out) as Run);
    }
    console.log(
      JSON.stringify({
        telemetry: mode,
        runs,
        entryMs: Math.round(median(results.map((r) => r.entryMs))),
        wiringMs: Math.round(median(results.map((r) => r.wiringMs))),
        totalMs: Math.round(median(results.map((r) => r.totalMs))),
        modules: Math.round(median(results.map((r) => r.modules))),
      }),
    );
  }
}

if (process.argv[2] === '--child') {
  child().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  parent(Number(process.argv[2] ?? 7));
}
