import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallerCheck, CallerRequest, CallerResolver } from '../../shared/auth';
import { createCallerResolver, createTokenValidator, parseUserAuthSettings } from '../../shared/auth';
import type { AuthFixture } from './fixture';
import { startAuthFixture } from './fixture';

let fx: AuthFixture;
beforeEach(async () => {
  fx = await startAuthFixture();
});
afterEach(async () => {
  await fx.provider.close();
});

function resolver(env: Record<string, string>): CallerResolver {
  const settings = parseUserAuthSettings({ ...fx.provider.backendSettings(), ...env });
  const validator = settings.token && createTokenValidator({ token: settings.token, now: fx.now });
  return createCallerResolver({ settings, ...(validator ? { validator } : {}) });
}

function principal(claims: Record<string, string | readonly string[]>): string {
  const list = Object.entries(claims).flatMap(([typ, v]) => (Array.isArray(v) ? v : [v]).map((val) => ({ typ, val })));
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: list, name_typ: 'name', role_typ: 'roles' })).toString(
    'base64',
  );
}

const OID = '11111111-2222-3333-4444-555555555555';
const TID = '00000000-0000-0000-0000-00000000abcd';
const alice = principal({
  'http://schemas.microsoft.com/identity/claims/objectidentifier': OID,
  'http://schemas.microsoft.com/identity/claims/tenantid': TID,
  'http://schemas.microsoft.com/identity/claims/scope': 'chat',
  name: 'Alice',
});
const TRUSTED = { CHAT_AUTH_TRUST_APP_SERVICE: 'true', WEBSITE_AUTH_ENABLED: 'True' };
const none: CallerRequest = { functionKeyVerified: false };

function failed(check: CallerCheck): Extract<CallerCheck, { ok: false }> {
  if (check.ok) throw new Error(`expected a refusal, got ${check.caller.id}`);
  return check;
}

describe('createCallerResolver', () => {
  it('resolves a bearer token to the user it names', async () => {
    const check = await resolver({}).resolve({ ...none, authorization: `Bearer ${await fx.provider.token('alice')}` });
    expect(check).toMatchObject({ ok: true, via: 'token', caller: { kind: 'user', name: 'alice' } });
  });

  it('resolves a verified function key to the one service caller when service callers are allowed', async () => {
    const check = await resolver({ CHAT_AUTH_CALLERS: 'users,service' }).resolve({ functionKeyVerified: true });
    expect(check).toEqual({ ok: true, via: 'function-key', caller: { kind: 'service', id: 'service' } });
  });

  it('refuses a function key where only users are allowed, saying to sign in', async () => {
    const check = failed(await resolver({ CHAT_AUTH_CALLERS: 'users' }).resolve({ functionKeyVerified: true }));
    expect(check).toMatchObject({ failure: 'function-key-refused', error: { status: 401 } });
    expect(check.error.message).toMatch(/Bearer/);
  });

  it('asks for sign-in when nothing is presented and users are allowed', async () => {
    const check = failed(await resolver({ CHAT_AUTH_CALLERS: 'users,service' }).resolve(none));
    expect(check).toMatchObject({ failure: 'missing', error: { status: 401, code: 'unauthorized' } });
  });

  it('asks for a function key when only service callers are allowed', async () => {
    const check = failed(await resolver({ CHAT_AUTH_CALLERS: 'service' }).resolve(none));
    expect(check.failure).toBe('function-key-required');
  });

  it('ignores a bearer token where only service callers are allowed, and takes the function key', async () => {
    const r = resolver({ CHAT_AUTH_CALLERS: 'service' });
    const check = await r.resolve({ authorization: 'Bearer whatever', functionKeyVerified: true });
    expect(check).toMatchObject({ ok: true, caller: { kind: 'service' } });
  });

  it('never falls back to a function key after a bad bearer token', async () => {
    const r = resolver({ CHAT_AUTH_CALLERS: 'users,service' });
    const check = failed(await r.resolve({ authorization: 'Bearer a.b.c', functionKeyVerified: true }));
    expect(check.failure).toBe('malformed');
  });

  it('refuses to build without a validator when users are allowed', () => {
    const settings = parseUserAuthSettings({ ...fx.provider.backendSettings(), CHAT_AUTH_CALLERS: 'users' });
    expect(() => createCallerResolver({ settings })).toThrow(/token validator is required/);
  });
});

describe('createCallerResolver with App Service authentication', () => {
  it('believes x-ms-client-principal when trusted and WEBSITE_AUTH_ENABLED=True', async () => {
    const check = await resolver(TRUSTED).resolve({ ...none, clientPrincipal: alice });
    expect(check).toEqual({
      ok: true,
      via: 'app-service',
      caller: { kind: 'user', id: `${TID}:${OID}`, name: 'Alice' },
    });
  });

  it.each([
    ['the trust setting is off', { WEBSITE_AUTH_ENABLED: 'True' }],
    ['the platform does not say auth is enabled', { CHAT_AUTH_TRUST_APP_SERVICE: 'true' }],
    ['the platform says auth is disabled', { CHAT_AUTH_TRUST_APP_SERVICE: 'true', WEBSITE_AUTH_ENABLED: 'False' }],
  ])('ignores x-ms-client-principal when %s', async (_name, env) => {
    const check = failed(await resolver(env).resolve({ ...none, clientPrincipal: alice }));
    expect(check.failure).toBe('missing');
  });

  it('answers 403 to a trusted principal without the scope or app role', async () => {
    const noScope = principal({ oid: OID, tid: TID, scp: 'openid profile' });
    const check = failed(await resolver(TRUSTED).resolve({ ...none, clientPrincipal: noScope }));
    expect(check).toMatchObject({ failure: 'permission', error: { status: 403, code: 'forbidden' } });
  });

  it.each([
    ['another tenant', { tid: '99999999-0000-0000-0000-000000000000' }, 'issuer'],
    ['another audience', { aud: 'api://another-app' }, 'audience'],
    [
      'another issuer',
      { iss: 'https://login.microsoftonline.com/99999999-0000-0000-0000-000000000000/v2.0' },
      'issuer',
    ],
  ])('refuses a trusted principal from %s, as a bearer token would be', async (_name, claims, failure) => {
    const foreign = principal({ oid: OID, tid: TID, scp: 'chat', ...claims });
    const check = failed(await resolver(TRUSTED).resolve({ ...none, clientPrincipal: foreign }));
    expect(check).toMatchObject({ failure, error: { status: 401, code: 'unauthorized' } });
    expect(check.error.message).not.toContain(TID);
  });

  it('accepts a trusted daemon app principal with the required app role', async () => {
    const app = principal({ oid: OID, tid: TID, roles: ['Reports.Read', 'Chat.Invoke'] });
    const check = await resolver({ ...TRUSTED, CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke' }).resolve({
      ...none,
      clientPrincipal: app,
    });
    expect(check).toMatchObject({ ok: true, caller: { kind: 'app', id: `${TID}:${OID}` } });
  });

  it.each([
    ['not base64 JSON', '%%%', 'malformed'],
    ['without an object id (another provider)', principal({ name: 'someone@github' }), 'identity'],
  ])('refuses a trusted principal %s with 401', async (_name, header, failure) => {
    const check = failed(await resolver(TRUSTED).resolve({ ...none, clientPrincipal: header }));
    expect(check).toMatchObject({ failure, error: { status: 401 } });
  });
});

describe('createCallerResolver with keys where clients put them', () => {
  const KEY = 'service-key-1';
  function keyed(env: Record<string, string>): CallerResolver {
    const settings = parseUserAuthSettings({ ...fx.provider.backendSettings(), ...env });
    const validator = settings.token && createTokenValidator({ token: settings.token, now: fx.now });
    return createCallerResolver({ settings, serviceKeys: [KEY], ...(validator ? { validator } : {}) });
  }
  const both = { CHAT_AUTH_CALLERS: 'users,service' };

  it.each([
    ['x-functions-key', { keys: [{ place: 'x-functions-key', key: KEY }] }],
    ['?code=', { keys: [{ place: 'code', key: KEY }] }],
    ['api-key (AzureOpenAI clients)', { keys: [{ place: 'api-key', key: KEY }] }],
    ['Authorization: Bearer (OpenAI SDKs)', { authorization: `Bearer ${KEY}` }],
    [
      'a valid header key beside a bearer that is not a JWT',
      { authorization: 'Bearer unused', keys: [{ place: 'x-functions-key', key: KEY }] },
    ],
  ] as const)('takes a key in %s as the service caller', async (_where, request) => {
    for (const env of [both, { CHAT_AUTH_CALLERS: 'service' }]) {
      const check = await keyed(env).resolve({ ...none, ...request });
      expect(check).toEqual({ ok: true, via: 'function-key', caller: { kind: 'service', id: 'service' } });
    }
  });

  it.each([
    ['x-functions-key', { keys: [{ place: 'x-functions-key', key: 'wrong' }] }, /x-functions-key header/],
    ['api-key', { keys: [{ place: 'api-key', key: 'wrong' }] }, /api-key header/],
    ['?code=', { keys: [{ place: 'code', key: 'wrong' }] }, /code query parameter/],
    [
      'Authorization: Bearer',
      { authorization: 'Bearer wrong-key' },
      /neither an access token \(a JWT\) nor a valid key/,
    ],
  ] as const)('says a key in %s was wrong, without echoing it', async (_where, request, message) => {
    const check = failed(await keyed(both).resolve({ ...none, ...request }));
    expect(check).toMatchObject({ failure: 'key-rejected', error: { status: 401, code: 'unauthorized' } });
    expect(check.error.message).toMatch(/^Wrong key/);
    expect(check.error.message).toMatch(message);
    expect(`${check.error.message} ${check.error.diagnosis}`).not.toMatch(/wrong-key|"wrong"| wrong\b/);
  });

  it('checks a bearer that is a JWT as a token, finally, even beside a valid key', async () => {
    const check = failed(
      await keyed(both).resolve({
        ...none,
        authorization: 'Bearer a.b.c',
        keys: [{ place: 'x-functions-key', key: KEY }],
      }),
    );
    expect(check.failure).toBe('malformed');
  });

  it('says when nothing at all came, naming both a token and a key', async () => {
    const check = failed(await keyed(both).resolve(none));
    expect(check).toMatchObject({ failure: 'missing', error: { status: 401 } });
    expect(check.error.message).toMatch(/^No credentials/);
    expect(check.error.message).toMatch(/access token/);
    expect(check.error.message).toMatch(/Authorization: Bearer <key>/);
  });

  it('says an access token is not what a key-only API takes', async () => {
    const token = await fx.provider.token('alice');
    const check = failed(
      await keyed({ CHAT_AUTH_CALLERS: 'service' }).resolve({ ...none, authorization: `Bearer ${token}` }),
    );
    expect(check.failure).toBe('function-key-required');
    expect(check.error.message).toMatch(/An access token was sent, but this API takes keys only/);
    expect(check.error.message).not.toContain(token);
  });

  it('checks a bearer as a token only where no keys are accepted', async () => {
    const check = failed(
      await keyed({ CHAT_AUTH_CALLERS: 'users' }).resolve({ ...none, authorization: `Bearer ${KEY}` }),
    );
    expect(check.failure).toBe('malformed');
  });
});
