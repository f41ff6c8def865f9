/**
 * The quota settings, parsed once into a frozen object. A bad value throws a ConfigError that names the
 * setting and shows a valid example, so the app fails at start-up rather than on the first chat.
 */
import { ConfigError } from '../config';
import { intSetting, isLoopbackHost, setting, type Env } from '../settings';

/** Where the shared counters live. `none`: no store configured, every instance counts on its own. */
export type QuotaStoreSetting =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'endpoint'; readonly endpoint: string }
  | { readonly kind: 'none' };

export interface QuotaSettings {
  /** Requests a user may start per UTC minute (`CHAT_USER_REQUESTS_PER_MINUTE`, default 20, 0 = no limit). */
  readonly userRequestsPerMinute: number;
  /** Tokens (prompt + completion, from the answer's usage) a user may spend per UTC day
   * (`CHAT_USER_TOKENS_PER_DAY`, default 200 000, 0 = no limit). */
  readonly userTokensPerDay: number;
  /** Tokens all callers together may spend per UTC minute (`CHAT_GLOBAL_TOKENS_PER_MINUTE`, default 0 = off). */
  readonly globalTokensPerMinute: number;
  /** `CHAT_STORAGE_CONNECTION_STRING` (Azurite, development) or `CHAT_STORAGE_TABLE_ENDPOINT` (Azure, managed identity). */
  readonly store: QuotaStoreSetting;
  /** Table holding the counters (`CHAT_QUOTA_TABLE`, default `quotas`; the Bicep template creates it). */
  readonly table: string;
}

export const QUOTA_DEFAULTS = {
  userRequestsPerMinute: 20,
  userTokensPerDay: 200_000,
  globalTokensPerMinute: 0,
  table: 'quotas',
} as const;

/** A count from 0 (no limit) to `max`. */
function countSetting(env: Env, name: string, fallback: number, max: number): number {
  return intSetting(env, name, { fallback, min: 0, max });
}

const ENDPOINT_EXAMPLE = 'https://mychatstorage.table.core.windows.net';

/** The table store of the app's shared state (quotas, conversations): one setting for both. */
export function storeSetting(env: Env): QuotaStoreSetting {
  const connectionString = setting(env, 'CHAT_STORAGE_CONNECTION_STRING');
  const endpoint = setting(env, 'CHAT_STORAGE_TABLE_ENDPOINT');
  if (connectionString !== undefined && endpoint !== undefined) {
    throw new ConfigError(
      'CHAT_STORAGE_TABLE_ENDPOINT',
      'and CHAT_STORAGE_CONNECTION_STRING are both set; set one (the endpoint in Azure, the connection string for Azurite)',
      ENDPOINT_EXAMPLE,
    );
  }
  if (connectionString !== undefined) {
    if (!/TableEndpoint=|UseDevelopmentStorage=true|AccountName=/i.test(connectionString)) {
      throw new ConfigError(
        'CHAT_STORAGE_CONNECTION_STRING',
        'is not a storage connection string (no TableEndpoint, AccountName or UseDevelopmentStorage)',
        'UseDevelopmentStorage=true',
      );
    }
    return { kind: 'connection-string', connectionString };
  }
  if (endpoint !== undefined) return { kind: 'endpoint', endpoint: tableEndpoint(endpoint) };
  return { kind: 'none' };
}

function tableEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('CHAT_STORAGE_TABLE_ENDPOINT', `is not a URL, got "${raw}"`, ENDPOINT_EXAMPLE);
  }
  // A bearer token is only ever sent over https; http is for a local emulator on loopback.
  const loopback = isLoopbackHost(url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError('CHAT_STORAGE_TABLE_ENDPOINT', `must be an https URL, got "${raw}"`, ENDPOINT_EXAMPLE);
  }
  return raw.replace(/\/+$/, '');
}

/** A table name setting: 3-63 letters and digits, not starting with a digit; `fallback` when not set. */
export function tableSetting(env: Env, name: string, fallback: string): string {
  const raw = setting(env, name) ?? fallback;
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(raw)) {
    throw new ConfigError(name, `is not a valid table name, got "${raw}"`, fallback);
  }
  return raw;
}

/** Parses the quota settings from the environment (app settings in Azure, `local.settings.json` locally). */
export function quotaSettings(env: Env): QuotaSettings {
  return Object.freeze({
    userRequestsPerMinute: countSetting(
      env,
      'CHAT_USER_REQUESTS_PER_MINUTE',
      QUOTA_DEFAULTS.userRequestsPerMinute,
      1_000_000,
    ),
    userTokensPerDay: countSetting(env, 'CHAT_USER_TOKENS_PER_DAY', QUOTA_DEFAULTS.userTokensPerDay, 1e12),
    globalTokensPerMinute: countSetting(
      env,
      'CHAT_GLOBAL_TOKENS_PER_MINUTE',
      QUOTA_DEFAULTS.globalTokensPerMinute,
      1e12,
    ),
    store: Object.freeze(storeSetting(env)),
    table: tableSetting(env, 'CHAT_QUOTA_TABLE', QUOTA_DEFAULTS.table),
  });
}
