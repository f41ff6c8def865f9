/**
 * End-user sign-in settings: who may call the chat endpoints, and which Microsoft Entra ID
 * access tokens count. Parsed once into a frozen object; a bad setting throws the project's
 * {@link ConfigError}, which names the setting and shows a valid example.
 */
import { ConfigError, isRunningInAzure } from '../config';
import { booleanSetting, GUID, intSetting, isLoopbackHost, setting, type Env } from '../settings';

/** `users`: Entra ID access tokens (signed-in users, and daemon apps with the app role). `service`: a function key. */
export type CallerClass = 'users' | 'service';

/** What a bearer token must carry to be accepted. */
export interface TokenSettings {
  /** Directory (tenant) id, a GUID; absent only when both the issuers and the OpenID configuration URL are set. */
  readonly tenantId?: string;
  /** Accepted `aud` values: the API's client id and/or its app id URI (`api://<client-id>`). */
  readonly audiences: readonly string[];
  /** Accepted `iss` values. Default: the v2 issuer `https://login.microsoftonline.com/{tenant}/v2.0`. */
  readonly issuers: readonly string[];
  /** Where the signing keys are found. Default: `https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration`. */
  readonly openIdConfigUrl: string;
  /** Delegated permission a user token needs in `scp` (space-separated). Default `chat`. */
  readonly requiredScope: string;
  /** App role an app-only (daemon) token needs in `roles`; without it app-only tokens are refused. */
  readonly requiredRole?: string;
  /** Longest a token may live (`iat` to `exp`, and now to `exp`), seconds. Default 86 400 (a day, Entra's most). */
  readonly maxLifetimeSeconds: number;
}

export interface UserAuthSettings {
  /** Who may call the chat endpoints. Default: `users` in Azure; locally `users,service` once CHAT_AUTH_AUDIENCE is set, else `service`. */
  readonly callers: readonly CallerClass[];
  /** Present when `callers` includes `users`. */
  readonly token?: TokenSettings;
  /**
   * Whether the `x-ms-client-principal` header of App Service authentication is believed: only when
   * CHAT_AUTH_TRUST_APP_SERVICE=true and the platform itself set WEBSITE_AUTH_ENABLED=True.
   */
  readonly trustAppServicePrincipal: boolean;
  /** Settings that were read but have no effect, for the start-up log (e.g. trust asked for, platform auth off). */
  readonly warnings: readonly string[];
}

const TENANT_EXAMPLE = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUDIENCE_EXAMPLE = '6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b,api://6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const ISSUERS_EXAMPLE =
  'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0,https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a/v2.0';
const OPENID_EXAMPLE =
  'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration';
/** Entra scope and app role values: no spaces (scp is a space-separated list). */
const PERMISSION = /^[A-Za-z0-9._:/-]{1,120}$/;

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `https`, or plain `http` on loopback only (the local identity provider): keys must not travel in clear. */
export function isTrustedKeyUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url);
}

function parseCallers(env: Env): CallerClass[] {
  const raw = setting(env, 'CHAT_AUTH_CALLERS');
  // Locally, sign-in is on once its settings are there (npm start sets them for its own provider), so
  // `func start` with only a function key keeps working as before.
  if (raw === undefined) {
    if (isRunningInAzure(env)) return ['users'];
    return setting(env, 'CHAT_AUTH_AUDIENCE') === undefined ? ['service'] : ['users', 'service'];
  }
  const items = list(raw);
  const bad = items.find((item) => item !== 'users' && item !== 'service');
  if (items.length === 0 || bad !== undefined) {
    throw new ConfigError('CHAT_AUTH_CALLERS', `must be users, service or users,service, got "${raw}"`, 'users');
  }
  return [...new Set(items as CallerClass[])];
}

function parseAudiences(env: Env): string[] {
  const raw = setting(env, 'CHAT_AUTH_AUDIENCE');
  const why = '(needed because CHAT_AUTH_CALLERS allows users; CHAT_AUTH_CALLERS=service accepts only function keys)';
  if (raw === undefined) throw new ConfigError('CHAT_AUTH_AUDIENCE', `is missing ${why}`, AUDIENCE_EXAMPLE);
  const audiences = list(raw);
  const bad = audiences.find((a) => !GUID.test(a) && !/^(api|https?):\/\/\S+$/.test(a));
  if (audiences.length === 0 || bad !== undefined) {
    throw new ConfigError(
      'CHAT_AUTH_AUDIENCE',
      `must list the API's client id (a GUID) and/or app id URI (api://...), got "${bad ?? raw}"`,
      AUDIENCE_EXAMPLE,
    );
  }
  return [...new Set(audiences)];
}

function parseUrlList(env: Env, name: string, example: string): string[] | undefined {
  const raw = setting(env, name);
  if (raw === undefined) return undefined;
  const items = list(raw);
  const bad = items.find((item) => !isTrustedKeyUrl(item));
  if (items.length === 0 || bad !== undefined) {
    throw new ConfigError(name, `must be https URLs (http only on 127.0.0.1/localhost), got "${bad ?? raw}"`, example);
  }
  return items;
}

function parseTenant(env: Env, needed: boolean): string | undefined {
  const raw = setting(env, 'CHAT_AUTH_TENANT_ID');
  if (raw === undefined && !needed) return undefined;
  if (raw === undefined) {
    throw new ConfigError(
      'CHAT_AUTH_TENANT_ID',
      'is missing (needed for the default issuer and OpenID configuration URL while CHAT_AUTH_CALLERS allows users)',
      TENANT_EXAMPLE,
    );
  }
  // v2 issuers always carry the tenant GUID, never a domain name, so a domain would match no token.
  if (!GUID.test(raw)) {
    throw new ConfigError(
      'CHAT_AUTH_TENANT_ID',
      `must be the directory (tenant) id, a GUID, got "${raw}"`,
      TENANT_EXAMPLE,
    );
  }
  return raw.toLowerCase();
}

function parsePermission(env: Env, name: string, example: string): string | undefined {
  const raw = setting(env, name);
  if (raw !== undefined && !PERMISSION.test(raw)) {
    throw new ConfigError(
      name,
      `must be one ${name.endsWith('ROLE') ? 'app role' : 'scope'} value without spaces, got "${raw}"`,
      example,
    );
  }
  return raw;
}

function parseTokenSettings(env: Env): TokenSettings {
  const audiences = parseAudiences(env);
  const explicitIssuers = parseUrlList(env, 'CHAT_AUTH_ISSUERS', ISSUERS_EXAMPLE);
  const explicitConfig = parseUrlList(env, 'CHAT_AUTH_OPENID_CONFIG_URL', OPENID_EXAMPLE);
  if (explicitConfig !== undefined && explicitConfig.length > 1) {
    throw new ConfigError('CHAT_AUTH_OPENID_CONFIG_URL', 'must be one URL', OPENID_EXAMPLE);
  }
  const tenantId = parseTenant(env, explicitIssuers === undefined || explicitConfig === undefined);
  const authority = `https://login.microsoftonline.com/${tenantId ?? ''}/v2.0`;
  const requiredRole = parsePermission(env, 'CHAT_AUTH_REQUIRED_ROLE', 'Chat.Invoke');
  return Object.freeze({
    ...(tenantId === undefined ? {} : { tenantId }),
    audiences: Object.freeze(audiences),
    issuers: Object.freeze(explicitIssuers ?? [authority]),
    openIdConfigUrl: explicitConfig?.[0] ?? `${authority}/.well-known/openid-configuration`,
    requiredScope: parsePermission(env, 'CHAT_AUTH_REQUIRED_SCOPE', 'chat') ?? 'chat',
    ...(requiredRole === undefined ? {} : { requiredRole }),
    maxLifetimeSeconds: intSetting(env, 'CHAT_AUTH_MAX_TOKEN_LIFETIME_SECONDS', {
      fallback: 86_400,
      min: 300,
      max: 7 * 86_400,
    }),
  });
}

function parseTrust(env: Env): { trust: boolean; warnings: string[] } {
  if (!booleanSetting(env, 'CHAT_AUTH_TRUST_APP_SERVICE', false)) return { trust: false, warnings: [] };
  // The platform sets WEBSITE_AUTH_ENABLED=True when built-in authentication fronts the app. Without it
  // anyone can send the header, so it is ignored rather than believed.
  if (setting(env, 'WEBSITE_AUTH_ENABLED')?.toLowerCase() === 'true') return { trust: true, warnings: [] };
  return {
    trust: false,
    warnings: [
      'CHAT_AUTH_TRUST_APP_SERVICE=true is ignored: App Service authentication is not enabled (WEBSITE_AUTH_ENABLED is not True), so x-ms-client-principal could be forged.',
    ],
  };
}

/**
 * Parses the CHAT_AUTH_* sign-in settings. Throws {@link ConfigError} on the first bad one.
 * Defaults: callers `users` in Azure; locally `users,service` when CHAT_AUTH_AUDIENCE is set, else `service`; scope `chat`; issuer and OpenID
 * configuration URL from the tenant; App Service principal not trusted.
 */
export function parseUserAuthSettings(env: Env): UserAuthSettings {
  const callers = parseCallers(env);
  const { trust, warnings } = parseTrust(env);
  const token = callers.includes('users') ? parseTokenSettings(env) : undefined;
  return Object.freeze({
    callers: Object.freeze(callers),
    ...(token === undefined ? {} : { token }),
    trustAppServicePrincipal: trust,
    warnings: Object.freeze(warnings),
  });
}
