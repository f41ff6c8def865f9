/**
 * The token issuer's signing keys: the OpenID configuration names the JWKS URL (fetched once and kept),
 * the JWKS is cached and refetched when a token names an unknown `kid` (key rotation), at most once
 * per `minRefetchIntervalMs`.
 *
 * Why not jose's `createRemoteJWKSet` with `cooldownDuration: 60_000`: its cooldown starts only after a
 * *successful* fetch, so while the issuer is unreachable every request fetches again, and a failed
 * refresh at `cacheMaxAge` fails the request although the cached keys still verify. Here every attempt,
 * failed or not, counts against the interval, and stale keys keep serving when a refresh fails. Key
 * selection and all cryptography stay jose's (`createLocalJWKSet`, `jwtVerify`).
 */
import type { FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters } from 'jose';
import type { createLocalJWKSet } from 'jose';
import { isJoseError, jose } from './jose';
import { isTrustedKeyUrl } from './settings';

export interface SigningKeysOptions {
  /** The issuer's OpenID configuration document; its `jwks_uri` is where the keys are. */
  readonly openIdConfigUrl: string;
  /** Injected for tests; default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Clock in ms since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Least time between two fetches (successful or not), ms. Default 60 000. */
  readonly minRefetchIntervalMs?: number;
  /** Age after which the keys are refreshed on next use, ms. Default 86 400 000 (a day; rotation is handled by unknown `kid`s). */
  readonly maxAgeMs?: number;
  /** Time limit of one HTTP fetch, ms. Default 5 000. */
  readonly timeoutMs?: number;
}

/** The keys could not be fetched; the token can be neither accepted nor refused. */
export class SigningKeysUnavailableError extends Error {
  override readonly name = 'SigningKeysUnavailableError';
}

/** What became of a refresh: fetched, failed, or skipped because the last attempt was too recent. */
export type Refresh = 'fetched' | 'failed' | 'rate-limited';

/** No key with the token's `kid`; `refetched` says whether the JWKS was fetched again to look for it. */
export class UnknownSigningKeyError extends Error {
  override readonly name = 'UnknownSigningKeyError';
  constructor(
    readonly kid: string | undefined,
    readonly refetched: boolean,
  ) {
    super(`No signing key with kid "${kid ?? '(none)'}"${refetched ? ' after refetching the JWKS' : ''}`);
  }
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

export class SigningKeys {
  readonly #options: Required<Omit<SigningKeysOptions, 'fetch'>> & { readonly fetch: typeof fetch };
  #jwksUri: string | undefined;
  #keys: LocalKeySet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;
  #pending: Promise<Refresh> | undefined;

  constructor(options: SigningKeysOptions) {
    this.#options = {
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      now: options.now ?? Date.now,
      minRefetchIntervalMs: options.minRefetchIntervalMs ?? 60_000,
      maxAgeMs: options.maxAgeMs ?? 86_400_000,
      timeoutMs: options.timeoutMs ?? 5_000,
      openIdConfigUrl: options.openIdConfigUrl,
    };
  }

  /** jose's key resolver (`JWTVerifyGetKey`): the key for this token's header, refetching once for an unknown `kid`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): ReturnType<LocalKeySet> => {
    const now = this.#options.now();
    if (this.#keys === undefined || now - this.#fetchedAt >= this.#options.maxAgeMs) await this.#refresh();
    const keys = this.#keys;
    if (keys === undefined) throw this.#unavailable();
    try {
      return await keys(header, token);
    } catch (error) {
      if (!isJoseError(error, 'ERR_JWKS_NO_MATCHING_KEY')) throw error;
    }
    const refresh = await this.#refresh();
    // A key rotated in while the issuer is unreachable: the token may be good, so it is not refused as forged.
    if (refresh === 'failed') throw this.#unavailable();
    const fresh = this.#keys ?? keys;
    try {
      return await fresh(header, token);
    } catch (error) {
      if (isJoseError(error, 'ERR_JWKS_NO_MATCHING_KEY'))
        throw new UnknownSigningKeyError(header.kid, refresh === 'fetched');
      throw error;
    }
  };

  #unavailable(): SigningKeysUnavailableError {
    return new SigningKeysUnavailableError(`Signing keys unavailable: ${describe(this.#lastError)}`, {
      cause: this.#lastError,
    });
  }

  /** Fetches unless the last attempt was under `minRefetchIntervalMs` ago; joins a fetch under way. */
  #refresh(): Promise<Refresh> {
    if (this.#pending !== undefined) return this.#pending;
    const now = this.#options.now();
    if (now - this.#attemptedAt < this.#options.minRefetchIntervalMs) return Promise.resolve('rate-limited');
    this.#attemptedAt = now;
    this.#pending = Promise.all([this.#load(), jose()])
      .then(([jwks, { createLocalJWKSet }]) => {
        this.#keys = createLocalJWKSet(jwks);
        this.#fetchedAt = this.#options.now();
        return 'fetched' as const;
      })
      // Kept for the error of a later request; stale keys, when there are any, keep serving meanwhile.
      .catch((error: unknown) => {
        this.#lastError = error;
        return 'failed' as const;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #load(): Promise<JSONWebKeySet> {
    this.#jwksUri ??= await this.#discover();
    const jwks = await this.#getJson(this.#jwksUri);
    const keys = (jwks as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new Error(`${this.#jwksUri} is not a JWKS (no "keys" array)`);
    return jwks as JSONWebKeySet;
  }

  async #discover(): Promise<string> {
    const url = this.#options.openIdConfigUrl;
    const uri = ((await this.#getJson(url)) as { jwks_uri?: unknown }).jwks_uri;
    if (typeof uri !== 'string' || !isTrustedKeyUrl(uri)) {
      throw new Error(`The OpenID configuration at ${url} has no usable jwks_uri (https, or http on loopback)`);
    }
    return uri;
  }

  async #getJson(url: string): Promise<object> {
    const response = await this.#options.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null) throw new Error(`GET ${url} did not answer a JSON object`);
    return body;
  }
}

function describe(error: unknown): string {
  if (error === undefined) return 'not fetched yet (the last attempt was under a minute ago)';
  return error instanceof Error ? error.message : JSON.stringify(error);
}
