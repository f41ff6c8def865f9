/**
 * Typed configuration, parsed once from app settings (process.env in Azure, local.settings.json or
 * `npm start` locally). A bad or missing setting throws a {@link ConfigError} naming the setting and
 * showing a valid example, so start-up fails with a message instead of a 500 on the first chat.
 */
import { z } from 'zod';
import { ConfigError } from './config-error';
import { booleanSetting, intSetting, setting, type Env } from './settings';

export { ConfigError } from './config-error';
export type { Env } from './settings';

export type AuthMode = 'managed-identity' | 'key-vault' | 'api-key';

export interface RegionConfig {
  /** Azure region name, e.g. `eastus2`. */
  readonly name: string;
  /** Resource endpoint, e.g. `https://my-aoai-eastus2.openai.azure.com/` (always ends with `/`). */
  readonly endpoint: string;
  /** Model name clients ask for (e.g. `gpt-4o`) -> deployment name in this region. */
  readonly deployments: Readonly<Record<string, string>>;
  /** Key Vault secret holding this region's API key (key-vault mode only). */
  readonly keySecretName?: string;
}

export interface AppConfig {
  /** Regions in priority order: the first healthy one serves. */
  readonly regions: readonly RegionConfig[];
  readonly auth:
    | { readonly mode: 'managed-identity'; readonly clientId?: string }
    | { readonly mode: 'key-vault'; readonly vaultUrl: string }
    | { readonly mode: 'api-key'; readonly apiKey: string };
  /** Model used when a request names none. */
  readonly defaultModel: string;
  /** Time limit to the first byte of one upstream attempt, ms. Default 30 000. */
  readonly attemptTimeoutMs: number;
  /** Deadline for a whole request across all attempts, ms. Default 200 000 (Azure cuts HTTP functions at ~230 s). */
  readonly requestTimeoutMs: number;
  /** Longest wait for a throttled region when no other region can serve, ms. Default 2 000. */
  readonly maxThrottleWaitMs: number;
  /** Consecutive failures that open a region's circuit breaker. Default 3. */
  readonly breakerFailureThreshold: number;
  /** How long an open breaker keeps a region out before one probe is let through, ms. Default 30 000. */
  readonly breakerCooldownMs: number;
  /** Whether error bodies carry the operator diagnosis (which identity, resource, role). Default: on unless running in Azure. */
  readonly exposeDiagnostics: boolean;
  /** Largest request body accepted, bytes. Default 262 144 (256 KB); larger gets 413. */
  readonly maxBodyBytes: number;
  /**
   * `CHAT_HEARTBEAT_MS`: a streamed answer sends a keep-alive (an SSE comment, or a blank JSON line) after
   * this many ms without data, so proxies and the Azure front end keep the connection open. Default 15 000;
   * 0 turns heartbeats off.
   */
  readonly heartbeatMs: number;
  /**
   * `CHAT_STREAM_IDLE_TIMEOUT_MS`: a stream that sends nothing for this many ms after its first chunk counts
   * as broken (and is continued from another region). Default 20 000, well under the ~230 s Functions limit
   * and far above a model's pause between tokens; 0 turns the limit off (the request deadline still holds).
   */
  readonly streamIdleTimeoutMs: number;
  /**
   * `CHAT_MAX_CONTINUATIONS`: how many times one streamed answer that breaks after its first byte is
   * continued from another region before it ends with `stream_interrupted`. Default 2; 0 turns continuation off.
   */
  readonly maxContinuations: number;
  /**
   * `CHAT_RESPONSE_ID_SECRET` (at least 32 characters): signs the Responses API ids each caller is given, so
   * nobody continues another caller's thread (shared/responses/ids.ts). Every instance of a deployment needs
   * the same value; unset, each process makes up its own and its ids die with it.
   */
  readonly responseIdSecret?: string;
}

const REGIONS_EXAMPLE =
  '[{"name":"eastus2","endpoint":"https://my-aoai-eastus2.openai.azure.com/","deployments":{"gpt-4o":"gpt-4o"}},' +
  '{"name":"swedencentral","endpoint":"https://my-aoai-swedencentral.openai.azure.com/","deployments":{"gpt-4o":"gpt-4o"}}]';

const regionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'must be an Azure region name like eastus2'),
    endpoint: z.url({ protocol: /^https?$/ }),
    deployments: z
      .record(z.string().min(1), z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a deployment name'))
      .refine((d) => Object.keys(d).length > 0, 'must map at least one model to a deployment'),
    keySecretName: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,127}$/, 'must be a Key Vault secret name')
      .optional(),
  })
  .strict();

const regionsSchema = z
  .array(regionSchema)
  .min(1, 'must list at least one region')
  .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, 'must not list a region twice');

function parseRegions(env: Env): RegionConfig[] {
  const raw = setting(env, 'CHAT_REGIONS');
  if (raw === undefined) throw new ConfigError('CHAT_REGIONS', 'is missing', REGIONS_EXAMPLE);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('CHAT_REGIONS', 'is not valid JSON', REGIONS_EXAMPLE);
  }
  const parsed = regionsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ConfigError(
      'CHAT_REGIONS',
      `is invalid${where}: ${issue?.message ?? 'unknown problem'}`,
      REGIONS_EXAMPLE,
    );
  }
  return parsed.data.map((r) => ({
    ...r,
    endpoint: r.endpoint.endsWith('/') ? r.endpoint : `${r.endpoint}/`,
  }));
}

/**
 * True inside an Azure Functions deployment: App Service sets WEBSITE_SITE_NAME and
 * WEBSITE_INSTANCE_ID on every plan; Core Tools and our local host do not. (CONTAINER_NAME, which
 * Linux Consumption also sets, is too common a name: sandboxes and CI set it too.)
 */
export function isRunningInAzure(env: Env): boolean {
  return setting(env, 'WEBSITE_INSTANCE_ID') !== undefined || setting(env, 'WEBSITE_SITE_NAME') !== undefined;
}

function parseAuth(env: Env, regions: readonly RegionConfig[]): AppConfig['auth'] {
  const explicit = setting(env, 'CHAT_AUTH_MODE');
  const vaultUrl = setting(env, 'KEY_VAULT_URL');
  const apiKey = setting(env, 'AZURE_OPENAI_API_KEY');
  const modes: readonly AuthMode[] = ['managed-identity', 'key-vault', 'api-key'];
  if (explicit !== undefined && !modes.includes(explicit as AuthMode)) {
    throw new ConfigError(
      'CHAT_AUTH_MODE',
      `must be one of ${modes.join(', ')}, got "${explicit}"`,
      'managed-identity',
    );
  }
  // Auto: managed identity in Azure, Key Vault when a vault is named, else a plain key.
  const mode: AuthMode =
    (explicit as AuthMode | undefined) ??
    (isRunningInAzure(env) ? 'managed-identity' : vaultUrl !== undefined ? 'key-vault' : 'api-key');

  switch (mode) {
    case 'managed-identity': {
      const clientId = setting(env, 'AZURE_CLIENT_ID');
      return clientId === undefined ? { mode } : { mode, clientId };
    }
    case 'key-vault': {
      if (vaultUrl === undefined) {
        throw new ConfigError(
          'KEY_VAULT_URL',
          'is missing (needed by CHAT_AUTH_MODE=key-vault)',
          'https://my-vault.vault.azure.net/',
        );
      }
      if (!/^https:\/\/[^/]+\/?$/.test(vaultUrl)) {
        throw new ConfigError(
          'KEY_VAULT_URL',
          `must be a vault URL, got "${vaultUrl}"`,
          'https://my-vault.vault.azure.net/',
        );
      }
      const missing = regions.find((r) => r.keySecretName === undefined);
      if (missing) {
        throw new ConfigError(
          'CHAT_REGIONS',
          `needs "keySecretName" on region ${missing.name} in key-vault mode`,
          REGIONS_EXAMPLE.replace('"deployments"', '"keySecretName":"aoai-key-eastus2","deployments"'),
        );
      }
      return { mode, vaultUrl };
    }
    case 'api-key': {
      if (apiKey === undefined) {
        throw new ConfigError(
          'AZURE_OPENAI_API_KEY',
          'is missing (no CHAT_AUTH_MODE, no KEY_VAULT_URL and not running in Azure, so a plain key is expected)',
          '<key from the Azure portal, or simulator-key for the local simulator>',
        );
      }
      return { mode, apiKey };
    }
  }
}

/** Parses and freezes the configuration. Throws {@link ConfigError} on the first bad setting. */
export function loadConfig(env: Env): AppConfig {
  const regions = parseRegions(env);
  const models = modelsOf(regions);
  const defaultModel = setting(env, 'CHAT_DEFAULT_MODEL') ?? models[0] ?? '';
  if (!models.includes(defaultModel)) {
    throw new ConfigError(
      'CHAT_DEFAULT_MODEL',
      `names "${defaultModel}", which no region deploys (known: ${models.join(', ')})`,
      models[0] ?? 'gpt-4o',
    );
  }
  const requestTimeoutMs = intSetting(env, 'CHAT_REQUEST_TIMEOUT_MS', { fallback: 200_000, min: 1_000, max: 225_000 });
  const config: AppConfig = {
    regions: regions.map((r) => Object.freeze({ ...r, deployments: Object.freeze({ ...r.deployments }) })),
    auth: Object.freeze(parseAuth(env, regions)),
    defaultModel,
    attemptTimeoutMs: intSetting(env, 'CHAT_ATTEMPT_TIMEOUT_MS', { fallback: 30_000, min: 100, max: requestTimeoutMs }),
    requestTimeoutMs,
    maxThrottleWaitMs: intSetting(env, 'CHAT_MAX_THROTTLE_WAIT_MS', { fallback: 2_000, min: 0, max: 60_000 }),
    breakerFailureThreshold: intSetting(env, 'CHAT_BREAKER_FAILURES', { fallback: 3, min: 1, max: 100 }),
    breakerCooldownMs: intSetting(env, 'CHAT_BREAKER_COOLDOWN_MS', { fallback: 30_000, min: 100, max: 3_600_000 }),
    maxBodyBytes: intSetting(env, 'CHAT_MAX_BODY_BYTES', { fallback: 262_144, min: 1_024, max: 4_194_304 }),
    exposeDiagnostics: booleanSetting(env, 'CHAT_EXPOSE_DIAGNOSTICS', !isRunningInAzure(env)),
    heartbeatMs: intSetting(env, 'CHAT_HEARTBEAT_MS', { fallback: 15_000, min: 0, max: 120_000 }),
    streamIdleTimeoutMs: intSetting(env, 'CHAT_STREAM_IDLE_TIMEOUT_MS', { fallback: 20_000, min: 0, max: 120_000 }),
    maxContinuations: intSetting(env, 'CHAT_MAX_CONTINUATIONS', { fallback: 2, min: 0, max: 5 }),
    ...responseIdSecret(env),
  };
  return Object.freeze({ ...config, regions: Object.freeze(config.regions) });
}

const SECRET_EXAMPLE = '$(openssl rand -base64 32)';

/** `CHAT_RESPONSE_ID_SECRET`, when set: at least 32 characters, so it cannot be guessed. */
function responseIdSecret(env: Env): { responseIdSecret?: string } {
  const secret = setting(env, 'CHAT_RESPONSE_ID_SECRET');
  if (secret === undefined) return {};
  // The value is a secret: the message says how long it is, never what it is.
  if (secret.length < 32) {
    throw new ConfigError(
      'CHAT_RESPONSE_ID_SECRET',
      `must have at least 32 characters, got ${secret.length}`,
      SECRET_EXAMPLE,
    );
  }
  return { responseIdSecret: secret };
}

export type ChatAuthLevel = 'function' | 'anonymous';

/**
 * `CHAT_AUTH_LEVEL`: `function` (default) makes chat endpoints need a function key; `anonymous` drops the
 * key for deployments where App Service authentication or API Management guards the app. Read apart from
 * {@link loadConfig} because function registrations need it when the function files load.
 */
export function chatAuthLevel(env: Env): ChatAuthLevel {
  const value = setting(env, 'CHAT_AUTH_LEVEL') ?? 'function';
  if (value !== 'function' && value !== 'anonymous') {
    throw new ConfigError('CHAT_AUTH_LEVEL', `must be function or anonymous, got "${value}"`, 'function');
  }
  return value;
}

/** All model names any region deploys, in first-seen order. */
export function configuredModels(config: AppConfig): string[] {
  return modelsOf(config.regions);
}

function modelsOf(regions: readonly RegionConfig[]): string[] {
  return [...new Set(regions.flatMap((r) => Object.keys(r.deployments)))];
}

/**
 * The region's deployment of a model, or undefined when the region does not deploy it. Own
 * properties only: the model name comes from the client, and `constructor` or `__proto__` must not
 * find something on Object.prototype.
 */
export function deploymentOf(region: RegionConfig, model: string): string | undefined {
  return Object.hasOwn(region.deployments, model) ? region.deployments[model] : undefined;
}
