import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../../local/identity';
import { identityProviderPort, LOCAL_TENANT_ID, objectIdFor, startIdentityProvider } from '../../../local/identity';
import { ConfigError } from '../../../shared/config';

let provider: RunningIdentityProvider;
beforeAll(async () => {
  provider = await startIdentityProvider({ port: 0 });
});
afterAll(async () => {
  await provider.close();
});

async function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${provider.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('startIdentityProvider', () => {
  it('listens on loopback and publishes an OpenID configuration pointing at its JWKS and token endpoint', async () => {
    expect(provider.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${provider.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      issuer: `${provider.url}/${LOCAL_TENANT_ID}/v2.0`,
      jwks_uri: `${provider.url}/discovery/v2.0/keys`,
      token_endpoint: `${provider.url}/token`,
    });
  });

  it('publishes RS256 public keys only', async () => {
    const jwks = (await (await fetch(`${provider.url}/discovery/v2.0/keys`)).json()) as { keys: object[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
  });

  it('answers POST /token {"user":"alice"} with a Bearer token of 3600 s', async () => {
    const res = await post('{"user":"alice"}');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
  });

  it('mints tokens shaped like Entra ID v2 access tokens that verify against its own JWKS', async () => {
    const body = (await (await post('{"user":"alice"}')).json()) as { access_token: string };
    const jwks = createRemoteJWKSet(new URL(`${provider.url}/discovery/v2.0/keys`));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: provider.issuer,
      audience: provider.audience,
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({
      ver: '2.0',
      tid: LOCAL_TENANT_ID,
      oid: objectIdFor(LOCAL_TENANT_ID, 'user:alice'),
      name: 'alice',
      preferred_username: 'alice@localhost',
      scp: 'chat',
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('gives a user the same object id on every token and another user another one', async () => {
    const oid = async (user: string) => decodeJwt(await provider.token(user)).oid;
    expect(await oid('alice')).toBe(await oid('alice'));
    expect(await oid('alice')).not.toBe(await oid('bob'));
    expect(await oid('alice')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('honours scope, expires_in and claim overrides, and mints app-only tokens with roles', async () => {
    const res = await post(
      JSON.stringify({ user: 'alice', scope: 'profile', expires_in: 60, claims: { aud: 'x', name: null } }),
    );
    const { access_token: token, expires_in: expiresIn } = (await res.json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(expiresIn).toBe(60);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ scp: 'profile', aud: 'x' });
    expect(claims).not.toHaveProperty('name');
    const app = decodeJwt(await provider.appToken('nightly', { roles: ['Chat.Invoke'] }));
    expect(app).toMatchObject({ idtyp: 'app', roles: ['Chat.Invoke'] });
    expect(app).not.toHaveProperty('scp');
  });

  it.each([
    ['not JSON', '{user:', 'invalid_json'],
    ['not an object', '["alice"]', 'invalid_request'],
    ['without a user', '{}', 'invalid_request'],
    ['with a user name that is not a name', '{"user":"a b"}', 'invalid_request'],
    ['with both user and app', '{"user":"a","app":"b"}', 'invalid_request'],
    ['with a bad expires_in', '{"user":"alice","expires_in":-5}', 'invalid_request'],
    ['with bad roles', '{"app":"nightly","roles":"Chat.Invoke"}', 'invalid_request'],
  ])('answers a body %s with 400 and the project error shape', async (_name, body, code) => {
    const res = await post(body, { 'x-request-id': 'req-42' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String), requestId: 'req-42' } });
  });

  it('answers an unknown route with 404 in the project error shape', async () => {
    const res = await fetch(`${provider.url}/authorize`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found', requestId: expect.any(String) } });
  });

  it('answers a CORS preflight so a page on this machine can ask for tokens', async () => {
    const origin = 'http://localhost:7071';
    const res = await fetch(`${provider.url}/token`, { method: 'OPTIONS', headers: { origin } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
  });
});

describe('RunningIdentityProvider', () => {
  it('signs with a new key after rotateKey and keeps the previous one published', async () => {
    const before = decodeProtectedHeader(await provider.token('alice')).kid;
    const kid = await provider.rotateKey();
    expect(kid).not.toBe(before);
    expect(decodeProtectedHeader(await provider.token('alice')).kid).toBe(kid);
    const jwks = (await (await fetch(`${provider.url}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([kid, before]);
  });

  it('counts the requests each endpoint served', async () => {
    const before = provider.stats();
    await fetch(`${provider.url}/discovery/v2.0/keys`);
    await post('{"user":"alice"}');
    expect(provider.stats()).toEqual({ ...before, jwks: before.jwks + 1, token: before.token + 1 });
  });

  it('gives the settings that make the backend trust it', () => {
    expect(provider.backendSettings()).toEqual({
      CHAT_AUTH_OPENID_CONFIG_URL: `${provider.url}/.well-known/openid-configuration`,
      CHAT_AUTH_TENANT_ID: LOCAL_TENANT_ID,
      CHAT_AUTH_AUDIENCE: `${provider.audience},api://${provider.audience}`,
      CHAT_AUTH_ISSUERS: provider.issuer,
    });
  });

  it('refuses a second provider on a port that is taken', async () => {
    await expect(startIdentityProvider({ port: provider.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('identityProviderPort', () => {
  it('defaults to 7083 and reads IDENTITY_PROVIDER_PORT', () => {
    expect(identityProviderPort({})).toBe(7083);
    expect(identityProviderPort({ IDENTITY_PROVIDER_PORT: '9000' })).toBe(9000);
  });

  it('names the setting when it is not a port', () => {
    expect(() => identityProviderPort({ IDENTITY_PROVIDER_PORT: 'http' })).toThrow(ConfigError);
    expect(() => identityProviderPort({ IDENTITY_PROVIDER_PORT: 'http' })).toThrow(/IDENTITY_PROVIDER_PORT=7083/);
  });
});

describe('a provider with a key file (npm start)', () => {
  it('signs with the same keys after a restart, so a token from before it still verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'identity-keys-'));
    const keyFile = join(dir, '.local-secrets', 'identity-keys.json');
    try {
      const before = await startIdentityProvider({ port: 0, keyFile });
      const token = await before.token('alice');
      const port = before.port;
      await before.close();
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);

      // The same port, as npm start's 7083: the issuer is the same too.
      const after = await startIdentityProvider({ port, keyFile });
      try {
        const jwks = createRemoteJWKSet(new URL(`${after.url}/discovery/v2.0/keys`));
        const { payload } = await jwtVerify(token, jwks, { issuer: after.issuer });
        expect(payload.name).toBe('alice');
        expect(decodeProtectedHeader(await after.token('bob')).kid).toBe(decodeProtectedHeader(token).kid);
        // A rotation is kept too, and the previous key stays published.
        const kid = await after.rotateKey();
        const kept = JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: { kid: string; d?: string }[] };
        expect(kept.keys.map((k) => k.kid)).toEqual([kid, decodeProtectedHeader(token).kid]);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts over with a new key when the key file is damaged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'identity-keys-'));
    const keyFile = join(dir, 'identity-keys.json');
    writeFileSync(keyFile, '{"keys":[{"kty":"oct","k":"AAAA"}]}');
    try {
      const provider = await startIdentityProvider({ port: 0, keyFile });
      const jwks = createRemoteJWKSet(new URL(`${provider.url}/discovery/v2.0/keys`));
      await expect(jwtVerify(await provider.token('alice'), jwks)).resolves.toBeDefined();
      await provider.close();
      expect((JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: { kty: string }[] }).keys[0]?.kty).toBe('RSA');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
