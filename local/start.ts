/**
 * `npm start`: the whole backend on a laptop, no Azure. Starts two simulated Azure OpenAI regions
 * (eastus2 on 7081, swedencentral on 7082) and serves the app's real function registrations at
 * http://localhost:7071/api through the local host. Settings from local.settings.json win over the
 * embedded default, and environment variables win over both (as with `func start`).
 */
import { startSimulator, type LatencyPreset, type RunningSimulator } from '../simulator';
import { applySettingsToEnv, loadLocalSettings, startLocalHost } from './host';

/** The key `npm start` enforces on chat endpoints when no other is configured. */
export const EMBEDDED_FUNCTION_KEY = 'local-dev-key';
const SIMULATOR_KEY = 'simulator-key';

function number(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number, got "${process.env[name]}"`);
  return value;
}

async function main(): Promise<void> {
  const cwd = process.cwd();
  const settings = loadLocalSettings(cwd);
  applySettingsToEnv(settings.values);

  // The embedded default: two simulated regions, unless the settings point at real ones
  // (CHAT_REGIONS set and CHAT_SIMULATOR not "true").
  const simulatorsOnly = process.argv.includes('--simulators-only');
  const simulators: RunningSimulator[] = [];
  if (process.env.CHAT_REGIONS === undefined || process.env.CHAT_SIMULATOR === 'true' || simulatorsOnly) {
    const latency = (process.env.SIMULATOR_LATENCY ?? 'realistic') as LatencyPreset;
    const regions = [
      { name: 'eastus2', port: number('SIMULATOR_PRIMARY_PORT', 7081) },
      { name: 'swedencentral', port: number('SIMULATOR_SECONDARY_PORT', 7082) },
    ];
    for (const region of regions) {
      simulators.push(
        await startSimulator({
          port: region.port,
          host: '127.0.0.1',
          region: region.name,
          apiKey: SIMULATOR_KEY,
          latency,
        }),
      );
    }
    process.env.CHAT_REGIONS ??= JSON.stringify(
      regions.map((r, i) => ({
        name: r.name,
        endpoint: `${simulators[i]?.url ?? ''}/`,
        deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' },
      })),
    );
    process.env.CHAT_AUTH_MODE ??= 'api-key';
    process.env.AZURE_OPENAI_API_KEY ??= SIMULATOR_KEY;
    for (const sim of simulators)
      console.log(`Simulated Azure OpenAI region ${sim.region} at ${sim.url} (faults: POST ${sim.url}/_sim/fault)`);
  }
  const stopSimulators = () => Promise.all(simulators.map((s) => s.close()));
  if (simulatorsOnly) {
    // For `func start` users: the simulated regions alone, on the ports local.settings.json.example names.
    onExit(stopSimulators);
    return;
  }

  const functionKeys = (process.env.LOCAL_FUNCTION_KEYS ?? EMBEDDED_FUNCTION_KEY)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const host = await startLocalHost({
    cwd,
    port: number('PORT', settings.port ?? 7071),
    host: process.env.HOST ?? '127.0.0.1',
    functionKeys,
    ...(settings.cors ? { cors: settings.cors } : {}),
  });
  console.log(`\nChat backend at ${host.url}/api`);
  for (const f of host.functions)
    console.log(`  ${f.methods.join(',').padEnd(9)} ${host.url}${f.route}  (${f.authLevel})`);
  console.log(`\nFunction key for chat endpoints: x-functions-key: ${functionKeys[0] ?? '(none)'}`);
  const web = host.functions.find((f) => f.name === 'web-get');
  if (web) console.log(`Demo chat page: ${host.url}${web.route.replace('{*path}', '')}`);
  console.log(
    `Try: curl -N ${host.url}/api/chat/stream -H "x-functions-key: ${functionKeys[0] ?? ''}" -H "content-type: application/json" -d '{"messages":[{"role":"user","content":"Hello"}]}'`,
  );

  onExit(async () => {
    await host.close();
    await stopSimulators();
  });
}

function onExit(cleanup: () => Promise<unknown>): void {
  const stop = () => void cleanup().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
