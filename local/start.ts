/**
 * `npm start`: the whole backend on a laptop, no Azure. Starts two simulated Azure OpenAI regions
 * (eastus2 on 7081, swedencentral on 7082), a local sign-in provider (7083), Azurite's table service for
 * quotas (10002, data in .azurite/), and serves the app's real function registrations at
 * http://localhost:7071/api through the local host. Settings from local.settings.json win over the
 * embedded default, and environment variables win over both (as with `func start`).
 */
import { startSimulator, type LatencyPreset, type RunningSimulator } from '../simulator';
import { applySettingsToEnv, loadLocalSettings, startLocalHost, type LocalHost, type LocalSettings } from './host';
import { join } from 'node:path';
import { ensureLocalStorage, startAzurite, type Azurite } from './azurite';
import { devSecretPaths, persistentResponseIdSecret } from './dev-secrets';
import type { CorsOptions } from './host/cors';
import { identityProviderPort, startIdentityProvider, type RunningIdentityProvider } from './identity';
import {
  apiPortUse,
  bindPort,
  identityPortUse,
  simulatorPortUse,
  type SimulatorPort,
  type SimulatorReason,
} from './port-in-use';

/** The key `npm start` enforces on chat endpoints when no other is configured. */
export const EMBEDDED_FUNCTION_KEY = 'local-dev-key';
const SIMULATOR_KEY = 'simulator-key';

/** A port from the environment setting `name`, or `fallback` when unset. */
function portSetting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number, got "${process.env[name]}"`);
  return value;
}

async function main(): Promise<void> {
  const cwd = process.cwd();
  const settings = loadLocalSettings(cwd);
  applySettingsToEnv(settings.values);

  const simulatorsOnly = process.argv.includes('--simulators-only');
  const reason = simulatorReason(simulatorsOnly);
  const simulators = reason === undefined ? [] : await startSimulators(reason);
  const functionKeys = (process.env.LOCAL_FUNCTION_KEYS ?? EMBEDDED_FUNCTION_KEY)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const secrets = devSecretPaths(cwd);
  // Ids of the Responses API stay valid across restarts (in Azure the setting is required for that).
  process.env.CHAT_RESPONSE_ID_SECRET ??= persistentResponseIdSecret(secrets.responseIdSecret);
  const identity = await startSignIn(functionKeys, {
    keyFile: secrets.identityKeys,
    allowedOrigins: browserOrigins(settings),
  });
  const storage = await ensureLocalStorage({
    repoRoot: cwd,
    env: process.env,
    port: portSetting('AZURITE_TABLE_PORT', 10_002),
  });
  if (storage.kind === 'azurite') {
    Object.assign(process.env, storage.env);
    console.log(`Azurite table service (quotas) at ${storage.azurite.tableEndpoint}, data in .azurite/`);
  }
  // `func start` keeps its own state (timer leases, keys) in AzureWebJobsStorage: Azurite's blob service.
  const blobs = simulatorsOnly ? await startBlobStorage(cwd) : undefined;
  const stopServices = async () => {
    await Promise.all([...simulators.map((s) => s.close()), identity.close()]);
    if (storage.kind === 'azurite') await storage.azurite.stop();
    await blobs?.stop();
  };
  if (simulatorsOnly) {
    // For `func start` users: the simulated regions, sign-in and storage alone (local.settings.json.example).
    onExit(stopServices);
    return;
  }
  const host = await startApiHost(cwd, settings, functionKeys);
  printWelcome(host, functionKeys[0], identity);
  onExit(async () => {
    await host.close();
    await stopServices();
  });
}

/**
 * The local OpenID Connect provider, trusted by the app unless local.settings.json names a real tenant
 * (CHAT_AUTH_AUDIENCE set). With it, chat endpoints take a signed-in user's token or one of the local
 * function keys (checked by the app, CHAT_SERVICE_KEYS), as they would in Azure with sign-in on.
 */
async function startSignIn(
  functionKeys: readonly string[],
  options: { readonly keyFile: string; readonly allowedOrigins: readonly string[] },
): Promise<RunningIdentityProvider> {
  const port = identityProviderPort(process.env);
  // Its keys are kept in keyFile, so a page open across a restart stays signed in.
  const identity = await bindPort(identityPortUse(port), () => startIdentityProvider({ port, ...options }));
  if (process.env.CHAT_AUTH_AUDIENCE === undefined) Object.assign(process.env, identity.backendSettings());
  // Locally the function keys serve as the service callers' keys too (in Azure: a Key Vault reference).
  process.env.CHAT_SERVICE_KEYS ??= functionKeys.join(',');
  console.log(`Local sign-in provider at ${identity.url} (POST ${identity.url}/token {"user":"alice"})`);
  return identity;
}

/**
 * `npm run simulators`: Azurite's blob service on AZURITE_BLOB_PORT (default 10000, Azurite's own, which
 * `UseDevelopmentStorage=true` names), for the Functions host's `AzureWebJobsStorage` under `func start`.
 */
async function startBlobStorage(cwd: string): Promise<Azurite> {
  const port = portSetting('AZURITE_BLOB_PORT', 10_000);
  const blobs = await startAzurite({ service: 'blob', location: join(cwd, '.azurite'), port }).catch(
    (error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Could not start Azurite's blob service on 127.0.0.1:${port} (${why}). Choose another port with AZURITE_BLOB_PORT.`,
        { cause: error },
      );
    },
  );
  console.log(`Azurite blob service (AzureWebJobsStorage for func start) at ${blobs.tableEndpoint}, data in .azurite/`);
  return blobs;
}

/**
 * The browser origins the backend serves or allows (its own demo page, the CORS origins): the only pages that may
 * ask the sign-in provider for tokens, so a site the developer happens to visit cannot mint them.
 */
function browserOrigins(settings: LocalSettings): string[] {
  const port = portSetting('PORT', settings.port ?? 7071);
  return [
    `http://localhost:${port}`,
    `http://127.0.0.1:${port}`,
    ...(corsSetting(settings).cors?.allowedOrigins ?? []),
  ];
}

/**
 * Why `npm start` runs the simulated regions, or undefined when it does not: the embedded default runs them unless
 * the settings name real regions (CHAT_REGIONS set and CHAT_SIMULATOR not "true").
 */
function simulatorReason(simulatorsOnly: boolean): SimulatorReason | undefined {
  if (simulatorsOnly) return 'simulators-only';
  if (process.env.CHAT_REGIONS === undefined) return 'no-regions-configured';
  return process.env.CHAT_SIMULATOR === 'true' ? 'simulator-forced' : undefined;
}

async function startSimulators(reason: SimulatorReason): Promise<RunningSimulator[]> {
  const latency = (process.env.SIMULATOR_LATENCY ?? 'realistic') as LatencyPreset;
  const regions: SimulatorPort[] = [
    { region: 'eastus2', port: portSetting('SIMULATOR_PRIMARY_PORT', 7081), setting: 'SIMULATOR_PRIMARY_PORT' },
    {
      region: 'swedencentral',
      port: portSetting('SIMULATOR_SECONDARY_PORT', 7082),
      setting: 'SIMULATOR_SECONDARY_PORT',
    },
  ];
  const simulators: RunningSimulator[] = [];
  for (const r of regions) {
    const options = { port: r.port, host: '127.0.0.1', region: r.region, apiKey: SIMULATOR_KEY, latency };
    simulators.push(await bindPort(simulatorPortUse(r, reason), () => startSimulator(options)));
  }
  process.env.CHAT_REGIONS ??= JSON.stringify(
    simulators.map((sim) => ({
      name: sim.region,
      endpoint: `${sim.url}/`,
      deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' },
    })),
  );
  process.env.CHAT_AUTH_MODE ??= 'api-key';
  process.env.AZURE_OPENAI_API_KEY ??= SIMULATOR_KEY;
  for (const sim of simulators)
    console.log(`Simulated Azure OpenAI region ${sim.region} at ${sim.url} (faults: POST ${sim.url}/_sim/fault)`);
  return simulators;
}

function startApiHost(cwd: string, settings: LocalSettings, functionKeys: readonly string[]): Promise<LocalHost> {
  const port = portSetting('PORT', settings.port ?? 7071);
  return bindPort(apiPortUse(port), () =>
    startLocalHost({
      cwd,
      port,
      host: process.env.HOST ?? '127.0.0.1',
      // Names other than localhost and IP addresses the API answers to (DNS rebinding defence), comma-separated.
      allowedHosts: (process.env.LOCAL_ALLOWED_HOSTS ?? '').split(',').filter((name) => name.trim() !== ''),
      functionKeys,
      ...corsSetting(settings),
    }),
  );
}

/**
 * CORS of the API host: `LOCAL_CORS_ORIGINS` (comma-separated origins) wins over `Host.CORS` of local.settings.json,
 * as environment variables win over the file; `Host.CORSCredentials` applies to either.
 */
function corsSetting(settings: LocalSettings): { cors?: CorsOptions } {
  const fromEnv = (process.env.LOCAL_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (fromEnv.length === 0) return settings.cors ? { cors: settings.cors } : {};
  return { cors: { allowedOrigins: fromEnv, supportCredentials: settings.cors?.supportCredentials === true } };
}

function printWelcome(host: LocalHost, functionKey: string | undefined, identity: RunningIdentityProvider): void {
  console.log(`\nChat backend at ${host.url}/api`);
  for (const f of host.functions)
    console.log(`  ${f.methods.join(',').padEnd(9)} ${host.url}${f.route}  (${f.authLevel})`);
  console.log(`\nFunction key for chat endpoints: x-functions-key: ${functionKey ?? '(none)'}`);
  const web = host.functions.find((f) => f.name === 'web-get');
  if (web) console.log(`Demo chat page: ${host.url}${web.route.replace('{*path}', '')}`);
  console.log(
    `Try: curl -N ${host.url}/api/chat/stream -H "x-functions-key: ${functionKey ?? ''}" -H "content-type: application/json" -d '{"messages":[{"role":"user","content":"Hello"}]}'`,
  );
  console.log(
    `Signed in as alice: TOKEN=$(curl -s -X POST ${identity.url}/token -H 'content-type: application/json' -d '{"user":"alice"}' | jq -r .access_token), then -H "authorization: Bearer $TOKEN" instead of the key`,
  );
}

function onExit(cleanup: () => Promise<unknown>): void {
  const stop = () => void cleanup().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// One line and a non-zero exit code, no stack trace: these are a developer's set-up problems (a taken port,
// a bad setting), and each error here says what to do.
main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
