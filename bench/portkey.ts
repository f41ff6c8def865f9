/**
 * The Portkey gateway (`@portkey-ai/gateway`, a dev dependency) as a third side of the non-streamed measurement:
 * a general-purpose gateway that teams put in front of Azure OpenAI instead of a backend like this
 * one, started by the bench in its own process on loopback with a fallback config over the same simulated
 * regions the backend uses.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type OpenAI from 'openai';
import { MODEL } from './load';
import { ipcChild, setSimulatorFault, type SimulatorProcess } from './processes';

const PACKAGE_JSON = require.resolve('@portkey-ai/gateway/package.json');
/** Portkey's Node server (the package's `bin`), run as `node start-server.js --port=0 --headless`. */
const START_SERVER = path.join(path.dirname(PACKAGE_JSON), 'build', 'start-server.js');
/** Binds Portkey's server to loopback and reports its port and CPU over IPC (bench/portkey-preload.ts). */
const PRELOAD = path.join(__dirname, 'portkey-preload.js');

/** The installed version of `@portkey-ai/gateway` (package.json pins it exactly). */
export const PORTKEY_VERSION = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

/** The key the bench's simulated regions accept (`Authorization: Bearer` on their v1 route). */
const SIMULATOR_KEY = 'simulator-key';

/**
 * Portkey's routing config: fall back over the regions in order, each an OpenAI-compatible target at the region's
 * Azure OpenAI v1 route (`/openai/v1/chat/completions`). Portkey's `openai` provider sends the key as
 * `Authorization: Bearer`, which the v1 route takes as an API key, as Azure does. With no `on_status_codes`,
 * Portkey falls back on any answer that is not a success, and on a refused connection.
 */
export function portkeyConfig(regions: readonly SimulatorProcess[]) {
  return {
    strategy: { mode: 'fallback' },
    targets: regions.map((region) => ({
      provider: 'openai',
      api_key: SIMULATOR_KEY,
      custom_host: `${region.url}/openai/v1`,
    })),
  };
}

export interface PortkeyProcess {
  readonly url: string;
  /** The `x-portkey-config` header every request carries ({@link portkeyConfig} as JSON). */
  readonly config: string;
  /** Resident set (bytes) and CPU time used so far (user + system, microseconds), as the backend reports them. */
  stats(): Promise<{ rss: number; cpuMicros: number }>;
  stop(): Promise<void>;
}

/** The environment without settings that would change where Portkey sends requests. */
function gatewayEnv(): NodeJS.ProcessEnv {
  const dropped = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'TRUSTED_CUSTOM_HOSTS']);
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !dropped.has(name.toUpperCase())));
}

/** Starts Portkey's Node server on a free loopback port; resolves when it listens. */
export async function startPortkeyProcess(regions: readonly SimulatorProcess[]): Promise<PortkeyProcess> {
  const child = fork(START_SERVER, ['--port=0', '--headless'], {
    execArgv: ['--require', PRELOAD],
    env: gatewayEnv(),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { url, ask, stop } = await ipcChild(child, 'Portkey gateway');
  const stats = async () => {
    const reply = await ask({ type: 'stats' });
    return { rss: reply.rss ?? Number.NaN, cpuMicros: reply.cpuMicros ?? Number.NaN };
  };
  return { url, config: JSON.stringify(portkeyConfig(regions)), stats, stop };
}

/** The region that answered one chat through Portkey (the simulator's `x-ms-region`, passed on by Portkey). */
async function answeringRegion(client: OpenAI): Promise<string> {
  const { response } = await client.chat.completions
    .create({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 })
    .withResponse();
  return response.headers.get('x-ms-region') ?? '';
}

/**
 * Checks that Portkey routes as configured before it is measured: a chat is answered by the first region, and,
 * with the first region in an outage (503), by the second. Returns the two regions' display names.
 */
export async function checkPortkeyFallback(
  client: OpenAI,
  regions: readonly SimulatorProcess[],
): Promise<{ primary: string; fallback: string }> {
  const [first] = regions;
  if (!first || regions.length < 2) throw new Error('the fallback check needs two regions');
  const primary = await answeringRegion(client);
  await setSimulatorFault(first, { kind: 'outage' });
  try {
    const fallback = await answeringRegion(client);
    if (primary === '' || fallback === '' || fallback === primary) {
      throw new Error(`Portkey did not fall back: answered by "${primary}", then by "${fallback}" in an outage`);
    }
    return { primary, fallback };
  } finally {
    await setSimulatorFault(first, { kind: 'none' });
  }
}
