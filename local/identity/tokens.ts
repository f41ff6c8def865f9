/**
 * Keys and claims of the local identity provider: RS256 keys made at start with jose, and access tokens
 * shaped like Microsoft Entra ID v2 access tokens, so the backend checks them on the same code path.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

/** Directory (tenant) id of the local provider: all zeros but `abcd`, so nobody mistakes it for a real tenant. */
export const LOCAL_TENANT_ID = '00000000-0000-0000-0000-00000000abcd';
/** Client id of the local "API" app registration: the `aud` of local tokens. */
export const LOCAL_API_CLIENT_ID = '00000000-0000-0000-0000-0000000000a1';
/** Client id of the local "SPA" that asks for tokens: the `azp` of local tokens. */
export const LOCAL_SPA_CLIENT_ID = '00000000-0000-0000-0000-0000000000b1';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** The provider's keys: the newest signs; the previous one stays published so tokens it signed still verify. */
export class KeyRing {
  #keys: readonly SigningKey[] = [];

  /** Makes a new signing key and returns its `kid`; keeps the previous key published. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const key: SigningKey = { kid, privateKey, publicJwk: { ...jwk, kid, use: 'sig', alg: 'RS256' } };
    this.#keys = [key, ...this.#keys].slice(0, 2);
    return kid;
  }

  /** The private keys, newest first, as JWKs (with `kid`): what {@link restore} takes back. Secret material. */
  async export(): Promise<JWK[]> {
    return Promise.all(this.#keys.map(async (k) => ({ ...(await exportJWK(k.privateKey)), kid: k.kid })));
  }

  /** Replaces the keys with exported ones (newest first); throws when one is not an RS256 private key. */
  async restore(privateJwks: readonly JWK[]): Promise<void> {
    const keys = await Promise.all(
      privateJwks.slice(0, 2).map(async ({ kid: _kid, ...jwk }): Promise<SigningKey> => {
        if (jwk.kty !== 'RSA' || jwk.d === undefined) throw new Error('not an RSA private key');
        const privateKey = (await importJWK({ ...jwk, alg: 'RS256' }, 'RS256', { extractable: true })) as CryptoKey;
        const { kty, n, e } = jwk;
        const publicJwk: JWK = { kty, n, e };
        const kid = await calculateJwkThumbprint(publicJwk);
        return { kid, privateKey, publicJwk: { ...publicJwk, kid, use: 'sig', alg: 'RS256' } };
      }),
    );
    if (keys.length === 0) throw new Error('no keys');
    this.#keys = keys;
  }

  get current(): SigningKey {
    const key = this.#keys[0];
    if (key === undefined) throw new Error('KeyRing: rotate() before signing');
    return key;
  }

  /** The published key set, newest first. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }
}

/** A stable object id per name: a UUID (version 8, name-based) from SHA-256, so alice is the same user after a restart. */
export function objectIdFor(tenantId: string, name: string): string {
  const hex = createHash('sha256').update(`local-identity:${tenantId}:${name}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Who a token is for: a user (delegated token with `scp`) or a daemon app (app-only token with `roles`). */
export type Subject =
  | { readonly kind: 'user'; readonly name: string; readonly scope: string }
  | { readonly kind: 'app'; readonly name: string; readonly roles: readonly string[] };

export interface TokenClaimsOptions {
  readonly issuer: string;
  readonly tenantId: string;
  readonly audience: string;
  readonly subject: Subject;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly lifetimeSeconds: number;
}

/** The claims of an Entra ID v2 access token (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference). */
export function accessTokenClaims(options: TokenClaimsOptions): JWTPayload {
  const { subject, tenantId, now } = options;
  const oid = objectIdFor(tenantId, `${subject.kind}:${subject.name}`);
  const common = {
    aud: options.audience,
    iss: options.issuer,
    iat: now,
    nbf: now,
    exp: now + options.lifetimeSeconds,
    azp: subject.kind === 'user' ? LOCAL_SPA_CLIENT_ID : objectIdFor(tenantId, `client:${subject.name}`),
    azpacr: '0',
    oid,
    // Entra's sub is pairwise per app; a hash of oid and audience has the same property.
    sub: createHash('sha256').update(`${oid}:${options.audience}`).digest('base64url').slice(0, 43),
    tid: tenantId,
    uti: randomUUID().replaceAll('-', '').slice(0, 22),
    ver: '2.0',
  };
  if (subject.kind === 'app') return { ...common, idtyp: 'app', roles: [...subject.roles] };
  return {
    ...common,
    name: subject.name,
    preferred_username: subject.name.includes('@') ? subject.name : `${subject.name}@localhost`,
    scp: subject.scope,
  };
}

/** Signs claims with the ring's current key (RS256, `typ: JWT`, `kid`), as Entra does. */
export async function signAccessToken(ring: KeyRing, claims: JWTPayload): Promise<string> {
  const key = ring.current;
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}
