import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenCheck } from '../../shared/auth';
import { wwwAuthenticate } from '../../shared/auth';
import type { AuthFixture } from './fixture';
import { kidOf, resign, startAuthFixture, unsigned, untrustedKey } from './fixture';

let fx: AuthFixture;
beforeEach(async () => {
  fx = await startAuthFixture();
});
afterEach(async () => {
  await fx.provider.close();
});

function refused(check: TokenCheck): Extract<TokenCheck, { ok: false }> {
  if (check.ok) throw new Error(`expected a refusal, got caller ${check.caller.id}`);
  return check;
}

const MINUTE = 60_000;

describe('createTokenValidator with tokens from the local provider', () => {
  it('accepts a valid token and names the user by tenant and object id', async () => {
    const token = await fx.provider.token('alice');
    const check = await fx.validator().validate(`Bearer ${token}`);
    expect(check).toMatchObject({
      ok: true,
      grantedBy: 'scope',
      caller: { kind: 'user', name: 'alice', id: expect.stringMatching(`^${fx.provider.tenantId}:[0-9a-f-]{36}$`) },
    });
  });

  it('fetches the OpenID configuration and the JWKS once, then serves from the cache', async () => {
    const validator = fx.validator();
    for (const user of ['alice', 'bob', 'alice']) {
      expect((await validator.validate(`Bearer ${await fx.provider.token(user)}`)).ok).toBe(true);
      fx.advance(10 * MINUTE);
    }
    expect(fx.provider.stats()).toMatchObject({ configuration: 1, jwks: 1 });
  });

  it('accepts the scheme in any case, as RFC 6750 allows', async () => {
    const token = await fx.provider.token('alice');
    expect((await fx.validator().validate(`bearer ${token}`)).ok).toBe(true);
  });

  it.each([
    ['an expired token past the 5-minute skew', 3600 + 301, 'expired'],
    ['a token not yet valid beyond the skew', -301, 'not-yet-valid'],
  ] as const)('refuses %s with 401', async (_name, offsetSeconds, failure) => {
    const token = await fx.provider.token('alice');
    fx.advance(offsetSeconds * 1000);
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check.failure).toBe(failure);
    expect(check.error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(check.error.diagnosis).toContain(failure === 'expired' ? 'exp claim' : 'nbf claim');
  });

  it.each([
    ['just expired but within the skew', 3600 + 299],
    ['issued a little in the future but within the skew', -299],
  ])('accepts a token %s', async (_name, offsetSeconds) => {
    const token = await fx.provider.token('alice');
    fx.advance(offsetSeconds * 1000);
    expect((await fx.validator().validate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('uses the clock skew it is given', async () => {
    const token = await fx.provider.token('alice');
    fx.advance((3600 + 30) * 1000);
    expect(refused(await fx.validator({ clockSkewSeconds: 10 }).validate(`Bearer ${token}`)).failure).toBe('expired');
  });

  it('refuses a token for another audience, naming the aud claim only in the diagnosis', async () => {
    const token = await fx.provider.token('alice', { claims: { aud: 'api://someone-else' } });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check).toMatchObject({ failure: 'audience', error: { status: 401 } });
    expect(check.error.message).toMatch(/different API/);
    expect(check.error.diagnosis).toMatch(/aud claim "api:\/\/someone-else" is not one of CHAT_AUTH_AUDIENCE/);
  });

  it('tells the operator when a Microsoft Graph token was sent instead of one for this API', async () => {
    const token = await fx.provider.token('alice', { claims: { aud: '00000003-0000-0000-c000-000000000000' } });
    expect(refused(await fx.validator().validate(`Bearer ${token}`)).error.diagnosis).toMatch(/Microsoft Graph token/);
  });

  it('accepts the app id URI as audience when it is configured', async () => {
    const token = await fx.provider.token('alice', { claims: { aud: `api://${fx.provider.audience}` } });
    expect((await fx.validator().validate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('refuses a token from another tenant, naming the iss claim only in the diagnosis', async () => {
    const otherTenant = '11111111-2222-3333-4444-555555555555';
    const other = `https://login.microsoftonline.com/${otherTenant}/v2.0`;
    const token = await fx.provider.token('alice', { claims: { iss: other, tid: otherTenant } });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check).toMatchObject({ failure: 'issuer', error: { status: 401 } });
    expect(check.error.diagnosis).toContain(`iss claim "${other}"`);
  });

  it('tells the operator how to fix a v1.0 token', async () => {
    const token = await fx.provider.token('alice', {
      claims: { iss: `https://sts.windows.net/${fx.provider.tenantId}/`, ver: '1.0' },
    });
    expect(refused(await fx.validator().validate(`Bearer ${token}`)).error.diagnosis).toMatch(
      /"accessTokenAcceptedVersion": 2/,
    );
  });

  it('accepts any issuer of the configured list, for multi-tenant APIs', async () => {
    const otherTenant = '11111111-2222-3333-4444-555555555555';
    const other = `https://login.microsoftonline.com/${otherTenant}/v2.0`;
    const token = await fx.provider.token('alice', { claims: { iss: other, tid: otherTenant } });
    const validator = fx.validator({}, { CHAT_AUTH_ISSUERS: `${fx.provider.issuer},${other}` });
    expect((await validator.validate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('refuses a token without exp, which would otherwise never expire', async () => {
    const token = await fx.provider.token('alice', { claims: { exp: null } });
    expect(refused(await fx.validator().validate(`Bearer ${token}`))).toMatchObject({
      failure: 'malformed',
      error: { status: 401 },
    });
  });

  it('refuses a valid token without oid or tid', async () => {
    const token = await fx.provider.token('alice', { claims: { oid: null } });
    expect(refused(await fx.validator().validate(`Bearer ${token}`)).failure).toBe('identity');
  });
});

describe('createTokenValidator with claims an attacker chose (signed by a trusted provider)', () => {
  const seconds = () => Math.floor(fx.now() / 1000);
  const YEAR = 365 * 86_400;

  it.each([
    ['an oid of 300 characters', () => ({ oid: 'a'.repeat(300) }), 'identity'],
    ['a tid with a newline', () => ({ tid: 'x\ny' }), 'identity'],
    ['a numeric oid', () => ({ oid: 42 }), 'identity'],
    ['a token valid for 100 years', () => ({ exp: seconds() + 100 * YEAR }), 'lifetime'],
    ['a token living two days from iat', () => ({ iat: seconds() - 60, exp: seconds() + 2 * 86_400 }), 'lifetime'],
    ['a token without iat expiring in a week', () => ({ iat: null, exp: seconds() + 7 * 86_400 }), 'lifetime'],
    ['a tid other than the issuer’s tenant', () => ({ tid: '11111111-2222-3333-4444-555555555555' }), 'issuer'],
  ] as const)('refuses %s with 401', async (_what, claims, failure) => {
    const token = await fx.provider.token('alice', { claims: claims() });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check.failure).toBe(failure);
    expect(check.error.status).toBe(401);
  });

  it('accepts a token living a whole day, and honours CHAT_AUTH_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const token = await fx.provider.token('alice', { expires_in: 86_400 });
    expect((await fx.validator().validate(`Bearer ${token}`)).ok).toBe(true);
    const shorter = fx.validator({}, { CHAT_AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' });
    expect(refused(await shorter.validate(`Bearer ${token}`)).failure).toBe('lifetime');
  });

  it('treats an app-only token as an app even when it carries scp: only the app role lets it in', async () => {
    const token = await fx.provider.appToken('nightly', { roles: [], claims: { scp: 'chat' } });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect([check.failure, check.error.status]).toEqual(['permission', 403]);
    const withRole = await fx.provider.appToken('nightly', { roles: ['Chat.Invoke'], claims: { scp: 'chat' } });
    const admitted = await fx.validator({}, { CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke' }).validate(`Bearer ${withRole}`);
    expect(admitted).toMatchObject({ ok: true, grantedBy: 'role', caller: { kind: 'app' } });
  });

  it('believes a token it accepted again on the next request, never past its expiry', async () => {
    const token = await fx.provider.token('alice', { expires_in: 600 });
    const validator = fx.validator({ clockSkewSeconds: 0 });
    expect((await validator.validate(`Bearer ${token}`)).ok).toBe(true);
    fx.advance(599_000);
    expect((await validator.validate(`Bearer ${token}`)).ok).toBe(true);
    fx.advance(2_000);
    expect(refused(await validator.validate(`Bearer ${token}`)).failure).toBe('expired');
  });

  it('treats a token without scp as an app, whatever else it says', async () => {
    const token = await fx.provider.token('alice', { claims: { scp: null, roles: ['Chat.Invoke'] } });
    const check = await fx.validator({}, { CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke' }).validate(`Bearer ${token}`);
    expect(check).toMatchObject({ ok: true, caller: { kind: 'app' } });
  });
});

describe('an Authorization header without the Bearer scheme', () => {
  it.each([
    ['a bare token', (t: string) => t],
    ['a token after an unknown scheme', (t: string) => `Token ${t}`],
    ['a token as the scheme', (t: string) => `${t} extra`],
  ])('never repeats its text in the diagnosis (%s)', async (_what, header) => {
    const token = await fx.provider.token('alice');
    const check = refused(await fx.validator().validate(header(token)));
    expect(check.failure).toBe('scheme');
    expect(`${check.error.message} ${check.error.diagnosis ?? ''}`).not.toContain(token.slice(0, 8));
  });

  it('names a known scheme sent by mistake', async () => {
    const check = refused(await fx.validator().validate('Basic dXNlcjpwYXNz'));
    expect(check.error.diagnosis).toContain('scheme "Basic"');
    expect(check.error.diagnosis).not.toContain('dXNlcjpwYXNz');
  });
});

describe('createTokenValidator with unsigned and forged tokens', () => {
  it('refuses alg none without fetching any key', async () => {
    const token = unsigned(await fx.provider.token('alice'));
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check).toMatchObject({ failure: 'algorithm', error: { status: 401, code: 'unauthorized' } });
    expect(fx.provider.stats().jwks).toBe(0);
  });

  it('refuses an HS256 token signed with a shared secret', async () => {
    const claims = { iss: fx.provider.issuer, aud: fx.provider.audience, oid: 'x', tid: 'y', scp: 'chat' };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(fx.now() / 1000) + 600)
      .sign(new TextEncoder().encode('a-secret-of-at-least-32-bytes-long!!'));
    expect(refused(await fx.validator().validate(`Bearer ${token}`)).failure).toBe('algorithm');
  });

  it('refuses a token signed by an untrusted key under a kid the JWKS has', async () => {
    const genuine = await fx.provider.token('alice');
    const forged = await resign(genuine, await untrustedKey(), kidOf(genuine));
    const check = refused(await fx.validator().validate(`Bearer ${forged}`));
    expect(check).toMatchObject({ failure: 'signature', error: { status: 401 } });
  });

  it('refuses a token with a changed claim under the genuine signature', async () => {
    const [header, payload, signature] = (await fx.provider.token('alice')).split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...claims, oid: 'someone-else' })).toString('base64url');
    const check = refused(await fx.validator().validate(`Bearer ${header}.${altered}.${signature}`));
    expect(check.failure).toBe('signature');
  });

  it('refetches the JWKS once for an unknown kid, then refuses with 401', async () => {
    const validator = fx.validator();
    expect((await validator.validate(`Bearer ${await fx.provider.token('alice')}`)).ok).toBe(true);
    fx.advance(MINUTE);
    const forged = await resign(await fx.provider.token('alice'), await untrustedKey(), 'kid-the-provider-never-had');
    const check = refused(await validator.validate(`Bearer ${forged}`));
    expect(check).toMatchObject({ failure: 'unknown-key', error: { status: 401 } });
    expect(check.error.diagnosis).toMatch(/after refetching the JWKS/);
    expect(fx.provider.stats()).toMatchObject({ configuration: 1, jwks: 2 });
  });

  it('refetches the JWKS at most once a minute, however many unknown kids arrive', async () => {
    const validator = fx.validator();
    expect((await validator.validate(`Bearer ${await fx.provider.token('alice')}`)).ok).toBe(true);
    const key = await untrustedKey();
    const base = await fx.provider.token('alice');
    const forged = (n: number) => resign(base, key, `unknown-${n}`);
    fx.advance(MINUTE);
    for (let n = 0; n < 5; n++) {
      expect(refused(await validator.validate(`Bearer ${await forged(n)}`)).failure).toBe('unknown-key');
      fx.advance(10_000);
    }
    // 60 s + 5 x 10 s later: one refetch at 60 s, none in the 50 s after it.
    expect(fx.provider.stats().jwks).toBe(2);
    fx.advance(10_000);
    await validator.validate(`Bearer ${await forged(6)}`);
    expect(fx.provider.stats().jwks).toBe(3);
  });

  it('lets concurrent requests with a new kid wait for one shared refetch, so all of them pass', async () => {
    const validator = fx.validator();
    await validator.validate(`Bearer ${await fx.provider.token('alice')}`);
    await fx.provider.rotateKey();
    fx.advance(MINUTE);
    const token = await fx.provider.token('alice');
    const checks = await Promise.all([1, 2, 3, 4].map(() => validator.validate(`Bearer ${token}`)));
    expect(checks.map((c) => c.ok)).toEqual([true, true, true, true]);
    expect(fx.provider.stats().jwks).toBe(2);
  });
});

describe('createTokenValidator across key rotation', () => {
  it('accepts a token signed with a new key after one refetch', async () => {
    const validator = fx.validator();
    expect((await validator.validate(`Bearer ${await fx.provider.token('alice')}`)).ok).toBe(true);
    const kid = await fx.provider.rotateKey();
    fx.advance(MINUTE);
    const token = await fx.provider.token('alice');
    expect(kidOf(token)).toBe(kid);
    expect((await validator.validate(`Bearer ${token}`)).ok).toBe(true);
    expect(fx.provider.stats().jwks).toBe(2);
  });

  it('refuses a new key for the first minute after a fetch, then accepts it', async () => {
    const validator = fx.validator();
    await validator.validate(`Bearer ${await fx.provider.token('alice')}`);
    await fx.provider.rotateKey();
    const token = await fx.provider.token('alice');
    const early = refused(await validator.validate(`Bearer ${token}`));
    expect(early.failure).toBe('unknown-key');
    expect(early.error.diagnosis).toMatch(/under a minute ago/);
    fx.advance(MINUTE);
    expect((await validator.validate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('still accepts tokens signed with the previous key, which the provider keeps publishing', async () => {
    const validator = fx.validator();
    const old = await fx.provider.token('alice');
    await fx.provider.rotateKey();
    expect((await validator.validate(`Bearer ${old}`)).ok).toBe(true);
  });
});

describe('createTokenValidator with scopes and app roles', () => {
  it('answers 403 to a valid token without the required scope', async () => {
    const token = await fx.provider.token('alice', { scope: 'profile openid' });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check).toMatchObject({ failure: 'permission', error: { status: 403, code: 'forbidden' } });
    expect(check.error.diagnosis).toMatch(/scp "profile openid".*needs scope "chat"/);
  });

  it('finds the required scope among several', async () => {
    const token = await fx.provider.token('alice', { scope: 'profile chat' });
    expect((await fx.validator().validate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('accepts a daemon app with the required app role as an app caller', async () => {
    const token = await fx.provider.appToken('nightly-report', { roles: ['Chat.Invoke'] });
    const check = await fx.validator({}, { CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke' }).validate(`Bearer ${token}`);
    expect(check).toMatchObject({ ok: true, grantedBy: 'role', caller: { kind: 'app', appId: expect.any(String) } });
  });

  it('answers 403 to a daemon app when no app role is configured', async () => {
    const token = await fx.provider.appToken('nightly-report', { roles: ['Chat.Invoke'] });
    const check = refused(await fx.validator().validate(`Bearer ${token}`));
    expect(check).toMatchObject({ failure: 'permission', error: { status: 403 } });
    expect(check.error.diagnosis).toMatch(/CHAT_AUTH_REQUIRED_ROLE is not set/);
  });

  it('answers 403 to a daemon app with another role', async () => {
    const token = await fx.provider.appToken('nightly-report', { roles: ['Reports.Read'] });
    const check = await fx.validator({}, { CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke' }).validate(`Bearer ${token}`);
    expect(refused(check).error.status).toBe(403);
  });
});

describe('createTokenValidator with bad Authorization headers', () => {
  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['   ', 'missing'],
    ['Basic YWxpY2U6c2VjcmV0', 'scheme'],
    ['Token abc.def.ghi', 'scheme'],
    ['Bearer', 'malformed'],
    ['Bearer a.b.c d', 'malformed'],
    ['Bearer not-a-jwt', 'malformed'],
    ['Bearer a.b.c.d.e', 'malformed'],
    ['Bearer a.b.c', 'malformed'],
  ] as const)('refuses %j as %s with 401', async (header, failure) => {
    const check = refused(await fx.validator().validate(header));
    expect(check).toMatchObject({ failure, error: { status: 401, code: 'unauthorized' } });
    expect(fx.provider.stats().jwks).toBe(0);
  });

  it.each([
    ['missing', 'Bearer'],
    ['malformed', 'Bearer error="invalid_request"'],
    ['expired', 'Bearer error="invalid_token"'],
    ['permission', 'Bearer error="insufficient_scope"'],
  ] as const)('answers a %s failure with WWW-Authenticate %j', (failure, header) => {
    expect(wwwAuthenticate(failure)).toBe(header);
  });
});

describe('createTokenValidator when the keys cannot be fetched', () => {
  it('answers 503 auth_unavailable and retries the fetch at most once a minute', async () => {
    let calls = 0;
    const failing: typeof fetch = () => {
      calls++;
      return Promise.reject(new TypeError('fetch failed'));
    };
    const validator = fx.validator({ fetch: failing });
    const token = await fx.provider.token('alice');
    for (let n = 0; n < 3; n++) {
      const check = refused(await validator.validate(`Bearer ${token}`));
      expect(check.error).toMatchObject({ status: 503, code: 'auth_unavailable', retryAfterMs: 60_000 });
    }
    expect(calls).toBe(1);
    fx.advance(MINUTE);
    await validator.validate(`Bearer ${token}`);
    expect(calls).toBe(2);
  });

  it('keeps serving from cached keys when a refresh fails', async () => {
    let up = true;
    const flaky: typeof fetch = (input, init) => (up ? fetch(input, init) : Promise.reject(new TypeError('down')));
    const validator = fx.validator({ fetch: flaky });
    expect((await validator.validate(`Bearer ${await fx.provider.token('alice')}`)).ok).toBe(true);
    up = false;
    fx.advance(25 * 60 * MINUTE);
    expect((await validator.validate(`Bearer ${await fx.provider.token('alice', { expires_in: 600 })}`)).ok).toBe(true);
  });

  it('answers 503, not 401, to a new kid while the issuer is unreachable: the token may be good', async () => {
    let up = true;
    const flaky: typeof fetch = (input, init) => (up ? fetch(input, init) : Promise.reject(new TypeError('down')));
    const validator = fx.validator({ fetch: flaky });
    await validator.validate(`Bearer ${await fx.provider.token('alice')}`);
    await fx.provider.rotateKey();
    up = false;
    fx.advance(MINUTE);
    const check = refused(await validator.validate(`Bearer ${await fx.provider.token('alice')}`));
    expect(check).toMatchObject({ failure: 'keys-unavailable', error: { status: 503 } });
  });

  it('names the OpenID configuration setting when the configuration answers 404', async () => {
    const validator = fx.validator({}, { CHAT_AUTH_OPENID_CONFIG_URL: `${fx.provider.url}/nowhere` });
    const check = refused(await validator.validate(`Bearer ${await fx.provider.token('alice')}`));
    expect(check.failure).toBe('keys-unavailable');
    expect(check.error.diagnosis).toMatch(/answered 404.*CHAT_AUTH_OPENID_CONFIG_URL/);
  });
});

describe('what a refused caller is told', () => {
  it('never names the expected audience or tenant in any message or diagnosis', async () => {
    const p = fx.provider;
    const key = await untrustedKey();
    const good = await p.token('alice');
    const tokens = [
      undefined,
      'Basic x',
      'Bearer x',
      `Bearer ${unsigned(good)}`,
      `Bearer ${await resign(good, key, kidOf(good))}`,
      `Bearer ${await resign(good, key, 'unknown')}`,
      `Bearer ${await p.token('alice', { claims: { aud: 'other' } })}`,
      `Bearer ${await p.token('alice', { claims: { iss: 'https://login.microsoftonline.com/other/v2.0' } })}`,
      `Bearer ${await p.token('alice', { claims: { exp: Math.floor(fx.now() / 1000) - 3600 } })}`,
      `Bearer ${await p.token('alice', { claims: { nbf: Math.floor(fx.now() / 1000) + 3600 } })}`,
    ];
    const validator = fx.validator();
    const secrets = [p.tenantId, p.audience, `api://${p.audience}`];
    for (const header of tokens) {
      const { error } = refused(await validator.validate(header));
      for (const text of [error.message, error.diagnosis ?? '']) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    }
  });
});
