/**
 * How each upstream call authenticates. Three explicit, exclusive modes (see AppConfig.auth):
 * - managed-identity: a bearer token provider for Cognitive Services, keyless (in Azure);
 * - key-vault: each region's API key read from Key Vault with the developer's own credential
 *   (az login), cached, re-read at most once per rotation;
 * - api-key: one plain key (the simulator, quick trials).
 * One credential per process; token *providers*, never tokens fetched by hand.
 */
// @azure/identity and @azure/keyvault-secrets are loaded on first use (about 100 ms of cold start):
// only the mode that needs them pays for them.
import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import type { AppConfig, RegionConfig } from './config';
import { ChatError, isAzureIdentityError } from './errors';

export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** What the openai client needs for one region. */
export interface RegionAuth {
  /** Given to the `openai` client as `apiKey`: a token provider, or a placeholder when `headers()` carries the key. */
  readonly apiKey: string | (() => Promise<string>);
  /** Per-request headers: `api-key` for key auth (and Authorization removed). */
  headers(): Promise<Record<string, string | null>>;
  /**
   * After a 401: re-read a key that may have been rotated. Resolves true when a different key was
   * found and one retry makes sense; false otherwise (so a wrong key is never re-read in a loop).
   */
  refreshAfterUnauthorized(): Promise<boolean>;
  /** Who we are, for diagnoses: client/object id of the identity, or the secret name. */
  describe(): { readonly identity?: string; readonly keySecretName?: string };
}

/** The part of SecretClient this module uses (the real client in production and tests). */
export interface SecretReader {
  getSecret(name: string): Promise<{ value?: string }>;
}

export interface CredentialDeps {
  /** Overrides the process credential (tests: a static token credential). */
  readonly credential?: TokenCredential;
  /** Overrides the Key Vault client (tests: a SecretClient pointed at the local stand-in). */
  readonly secrets?: SecretReader;
  /** Extra SecretClient options (tests: a TLS agent trusting the stand-in's certificate). */
  readonly secretClientOptions?: SecretClientOptions;
  /** Shortest time between two re-reads of the same secret, ms. Default 10 000. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
}

export interface CredentialSet {
  forRegion(region: RegionConfig): RegionAuth;
}

const KEY_HEADERS_PLACEHOLDER = 'key-in-api-key-header';

/** Reads `oid`/`appid` from a JWT for diagnoses; never logs or keeps the token itself. */
export function describeToken(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const parts = [
      typeof claims.oid === 'string' ? `object id ${claims.oid}` : undefined,
      typeof claims.appid === 'string'
        ? `client id ${claims.appid}`
        : typeof claims.azp === 'string'
          ? `client id ${claims.azp}`
          : undefined,
      typeof claims.aud === 'string' ? `audience ${claims.aud}` : undefined,
    ].filter(Boolean);
    return parts.length > 0 ? parts.join(', ') : undefined;
  } catch {
    return undefined;
  }
}

export function createCredentials(config: AppConfig, deps: CredentialDeps = {}): CredentialSet {
  const auth = config.auth;
  switch (auth.mode) {
    case 'api-key': {
      const headers = { 'api-key': auth.apiKey, Authorization: null };
      const regionAuth: RegionAuth = {
        apiKey: KEY_HEADERS_PLACEHOLDER,
        headers: () => Promise.resolve(headers),
        refreshAfterUnauthorized: () => Promise.resolve(false),
        describe: () => ({}),
      };
      return { forRegion: () => regionAuth };
    }
    case 'managed-identity': {
      let provider: Promise<() => Promise<string>> | undefined;
      let identity = auth.clientId === undefined ? undefined : `client id ${auth.clientId}`;
      const apiKey = async () => {
        provider ??= Promise.all([import('@azure/identity'), import('./managed-identity.js')]).then(
          ([{ getBearerTokenProvider }, { managedIdentityCredential }]) =>
            getBearerTokenProvider(
              deps.credential ?? managedIdentityCredential(auth.clientId),
              COGNITIVE_SERVICES_SCOPE,
            ),
        );
        const token = await (await provider)();
        identity = describeToken(token) ?? identity;
        return token;
      };
      const regionAuth: RegionAuth = {
        apiKey,
        headers: () => Promise.resolve({}),
        refreshAfterUnauthorized: () => Promise.resolve(false),
        describe: () => (identity === undefined ? {} : { identity }),
      };
      return { forRegion: () => regionAuth };
    }
    case 'key-vault': {
      const keys = new KeyVaultKeys(
        deps.secrets ?? lazySecretClient(auth.vaultUrl, deps),
        auth.vaultUrl,
        deps.minRefreshIntervalMs ?? 10_000,
        deps.now ?? Date.now,
      );
      return {
        forRegion(region) {
          // Config guarantees keySecretName in key-vault mode.
          const secretName = region.keySecretName ?? '';
          return {
            apiKey: KEY_HEADERS_PLACEHOLDER,
            headers: async () => ({ 'api-key': await keys.get(secretName), Authorization: null }),
            refreshAfterUnauthorized: () => keys.refresh(secretName),
            describe: () => ({ keySecretName: secretName }),
          };
        },
      };
    }
  }
}

/** The real SecretClient with the developer's own credential (az login), built on the first read. */
function lazySecretClient(vaultUrl: string, deps: CredentialDeps): SecretReader {
  let client: Promise<SecretReader> | undefined;
  return {
    async getSecret(name) {
      client ??= (async () => {
        const { SecretClient } = await import('@azure/keyvault-secrets');
        const credential = deps.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
        return new SecretClient(vaultUrl, credential, deps.secretClientOptions);
      })();
      return (await client).getSecret(name);
    },
  };
}

interface CachedKey {
  readonly value: Promise<string>;
  readonly readAt: number;
}

/** API keys from Key Vault, one secret per region, cached in memory. */
class KeyVaultKeys {
  readonly #cache = new Map<string, CachedKey>();

  constructor(
    private readonly secrets: SecretReader,
    private readonly vaultUrl: string,
    private readonly minRefreshIntervalMs: number,
    private readonly now: () => number,
  ) {}

  get(name: string): Promise<string> {
    const cached = this.#cache.get(name);
    if (cached) return cached.value;
    return this.#read(name).value;
  }

  async refresh(name: string): Promise<boolean> {
    const cached = this.#cache.get(name);
    if (cached && this.now() - cached.readAt < this.minRefreshIntervalMs) return false;
    const before = cached ? await cached.value.catch(() => undefined) : undefined;
    const after = await this.#read(name).value;
    return after !== before;
  }

  #read(name: string): CachedKey {
    const value = this.secrets.getSecret(name).then(
      (secret) => {
        if (!secret.value) throw secretMissing(name, this.vaultUrl);
        return secret.value;
      },
      (error: unknown) => {
        throw keyVaultError(error, name, this.vaultUrl);
      },
    );
    const entry = { value, readAt: this.now() };
    this.#cache.set(name, entry);
    // A failed read is not cached: the next request tries again (the role may have just propagated).
    value.catch(() => {
      if (this.#cache.get(name) === entry) this.#cache.delete(name);
    });
    return entry;
  }
}

function secretMissing(name: string, vaultUrl: string): ChatError {
  return new ChatError('secret_not_found', {
    message: 'The backend is missing a credential. The operator has been told why.',
    diagnosis: `Key Vault ${vaultUrl} has no secret "${name}" (or it is empty or disabled). Store the Azure OpenAI key there: az keyvault secret set --vault-name <vault> --name ${name} --value <key>.`,
  });
}

/**
 * Connection failures: @azure/core-rest-pipeline reports them as REQUEST_SEND_ERROR, or with the
 * system error code of the socket.
 */
const UNREACHABLE: ReadonlySet<string> = new Set([
  'REQUEST_SEND_ERROR',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Key Vault and identity failures, explained. */
export function keyVaultError(error: unknown, name: string, vaultUrl: string): ChatError {
  if (error instanceof ChatError) return error;
  const e = error as { statusCode?: number; code?: string; name?: string; message?: string };
  const message = 'The backend could not read its credential. The operator has been told why.';
  if (e.statusCode === 404) return secretMissing(name, vaultUrl);
  if (e.statusCode === 403 || e.statusCode === 401) {
    const caller = e.message?.match(/Caller: ([^\r\n]+)|The user, group or application '([^']+)'/);
    const who = caller?.[1] ?? caller?.[2] ?? 'your identity (az login)';
    return new ChatError('key_vault_access_denied', {
      message,
      upstreamStatus: e.statusCode,
      diagnosis:
        `Key Vault ${vaultUrl} denied reading secret "${name}" to ${who}. Give that identity the role "Key Vault Secrets User" on the vault ` +
        `(az role assignment create --assignee <object id> --role "Key Vault Secrets User" --scope <vault resource id>); for a vault using access policies, grant "get" on secrets. ` +
        'New role assignments take 5-15 minutes to propagate.',
      cause: error,
    });
  }
  if (isAzureIdentityError(error)) {
    return new ChatError('credential_unavailable', {
      message,
      diagnosis: `No Azure credential could get a token for Key Vault ${vaultUrl}: sign in with "az login" (or "azd auth login"), or set CHAT_AUTH_MODE=api-key with AZURE_OPENAI_API_KEY. First line: ${e.message?.split('\n')[0] ?? ''}`,
      cause: error,
    });
  }
  if (e.code !== undefined && UNREACHABLE.has(e.code)) {
    return new ChatError('key_vault_unreachable', {
      message,
      diagnosis: `Key Vault ${vaultUrl} could not be reached (${e.code}): check KEY_VAULT_URL (https://VAULT-NAME.vault.azure.net/) and that this machine can reach the vault (network, firewall, private endpoint, proxy).`,
      cause: error,
    });
  }
  return new ChatError('key_vault_access_denied', {
    message,
    diagnosis: `Reading secret "${name}" from ${vaultUrl} failed: ${e.message ?? String(error)}`,
    cause: error,
  });
}
