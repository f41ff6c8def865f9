/**
 * The whole backend as `npm start` runs it: two simulated regions and the local host loading the real
 * function files, configured through the environment as in Azure. One per test file (the host is
 * process-wide; vitest gives each file its own).
 */
import OpenAI from 'openai';
import { vi } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import {
  startLocalHost,
  type CorsOptions,
  type HttpLimits,
  type LocalHost,
  type LocalHostLogger,
} from '../../local/host';
import { silentLogger } from '../../local/host/logger';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import { regionsSetting } from '../shared/two-regions';

export const FUNCTION_KEY = 'e2e-function-key';

export interface Backend {
  readonly primary: RunningSimulator;
  readonly secondary: RunningSimulator;
  readonly host: LocalHost;
  /** The official openai client pointed at the backend's OpenAI-compatible endpoint (no retries). */
  readonly openai: OpenAI;
  /** The openai client as a front-end's server builds it: default retries (2), every request counted. */
  countingClient(): { readonly client: OpenAI; requests(): number };
  close(): Promise<void>;
}

export interface BackendOptions {
  /** Simulator latency; default none. */
  readonly latency?: SimulatorOptions['latency'];
  /** CORS as `Host.CORS` in local.settings.json gives it; default none. */
  readonly cors?: CorsOptions;
  /** More options of the secondary region's simulator (e.g. `continuationRepeatWords`). */
  readonly secondary?: SimulatorOptions;
  /** The host's client timeouts and drain bound; default the host's own. */
  readonly limits?: Partial<HttpLimits>;
  /** Default: silent. */
  readonly logger?: LocalHostLogger;
  /** How the host reaches the library's proxy; default the host's own (in-process). */
  readonly libraryProxy?: 'in-process' | 'http';
}

export async function startBackend(
  settings: Record<string, string> = {},
  options: BackendOptions = {},
): Promise<Backend> {
  const latency = options.latency ? { latency: options.latency } : {};
  const primary = await startSimulator({ port: 0, region: 'eastus2', ...latency });
  const secondary = await startSimulator({ port: 0, region: 'swedencentral', ...latency, ...options.secondary });
  // The app reads its settings from the environment, as in Azure; close() puts the old values back.
  const env: Record<string, string> = {
    CHAT_REGIONS: regionsSetting(primary, secondary),
    CHAT_AUTH_MODE: 'api-key',
    AZURE_OPENAI_API_KEY: 'simulator-key',
    ...settings,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const host = await startLocalHost({
    cwd: process.cwd(),
    entry: 'functions/*.ts',
    port: 0,
    functionKeys: [FUNCTION_KEY],
    logger: options.logger ?? silentLogger,
    ...(options.cors ? { cors: options.cors } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.libraryProxy ? { libraryProxy: options.libraryProxy } : {}),
  });
  const openai = new OpenAI({
    baseURL: `${host.url}/api/v1/`,
    apiKey: 'unused',
    defaultHeaders: { 'x-functions-key': FUNCTION_KEY },
    maxRetries: 0,
  });
  return {
    primary,
    secondary,
    host,
    openai,
    countingClient() {
      let requests = 0;
      const client = new OpenAI({
        baseURL: `${host.url}/api/v1/`,
        apiKey: 'unused',
        defaultHeaders: { 'x-functions-key': FUNCTION_KEY },
        fetch: (input, init) => {
          requests += 1;
          return fetch(input, init);
        },
      });
      return { client, requests: () => requests };
    },
    async close() {
      await host.close();
      await Promise.all([primary.close(), secondary.close()]);
      vi.unstubAllEnvs();
    },
  };
}

/** A backend with sign-in on: the local OpenID Connect provider's users, and service callers with {@link FUNCTION_KEY}. */
export interface SignedInBackend {
  readonly backend: Backend;
  readonly identity: RunningIdentityProvider;
  close(): Promise<void>;
}

export async function startSignedInBackend(settings: Record<string, string> = {}): Promise<SignedInBackend> {
  const identity = await startIdentityProvider({ port: 0 });
  const backend = await startBackend({
    ...identity.backendSettings(),
    CHAT_AUTH_CALLERS: 'users,service',
    CHAT_SERVICE_KEYS: FUNCTION_KEY,
    ...settings,
  });
  return {
    backend,
    identity,
    async close() {
      await backend.close();
      await identity.close();
    },
  };
}
