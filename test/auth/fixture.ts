/**
 * A local identity provider on port 0, a validator that trusts it, and one clock both read, so expiry and
 * the JWKS refetch interval are tested by moving the clock, never by sleeping.
 */
import type { CryptoKey } from 'jose';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import type { TokenSettings } from '../../shared/auth';
import { createTokenValidator, parseUserAuthSettings } from '../../shared/auth';
import type { TokenValidator, TokenValidatorOptions } from '../../shared/auth';
import type { RunningIdentityProvider } from '../../local/identity';
import { startIdentityProvider } from '../../local/identity';

export interface AuthFixture {
  readonly provider: RunningIdentityProvider;
  readonly settings: TokenSettings;
  /** The shared clock, ms since the epoch; tests move it with `advance`. */
  now(): number;
  advance(ms: number): void;
  validator(extra?: Partial<TokenValidatorOptions>, env?: Record<string, string>): TokenValidator;
}

export async function startAuthFixture(): Promise<AuthFixture> {
  let clock = Date.parse('2025-06-01T12:00:00Z');
  const now = (): number => clock;
  const provider = await startIdentityProvider({ port: 0, now });
  const env = { ...provider.backendSettings(), CHAT_AUTH_CALLERS: 'users' };
  const settingsFor = (extra: Record<string, string>): TokenSettings => {
    const token = parseUserAuthSettings({ ...env, ...extra }).token;
    if (token === undefined) throw new Error('fixture: no token settings');
    return token;
  };
  return {
    provider,
    settings: settingsFor({}),
    now,
    advance: (ms) => {
      clock += ms;
    },
    validator: (extra = {}, extraEnv = {}) => createTokenValidator({ token: settingsFor(extraEnv), now, ...extra }),
  };
}

/** A key pair the backend does not trust. */
export async function untrustedKey(): Promise<CryptoKey> {
  return (await generateKeyPair('RS256')).privateKey;
}

/** The same claims as `token`, signed by `key` under header `kid`: a forgery. */
export async function resign(token: string, key: CryptoKey, kid: string): Promise<string> {
  return new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key);
}

export function kidOf(token: string): string {
  const { kid } = decodeProtectedHeader(token);
  if (kid === undefined) throw new Error('token has no kid');
  return kid;
}

/** The claims of `token` with `alg: none` and an empty signature. */
export function unsigned(token: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(decodeJwt(token))}.`;
}
