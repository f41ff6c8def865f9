import { describe, expect, it } from 'vitest';
import { parseUserAuthSettings } from '../../shared/auth';
import { ConfigError } from '../../shared/config';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const BASE = { CHAT_AUTH_TENANT_ID: TENANT, CHAT_AUTH_AUDIENCE: `${CLIENT},api://${CLIENT}` };
const AZURE = { WEBSITE_SITE_NAME: 'chat-app', WEBSITE_INSTANCE_ID: 'abc' };

function configError(env: Record<string, string>): ConfigError {
  try {
    parseUserAuthSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('parseUserAuthSettings accepted a bad setting');
}

describe('parseUserAuthSettings', () => {
  it('derives the v2 issuer and OpenID configuration URL from the tenant, with scope chat, into a frozen object', () => {
    const settings = parseUserAuthSettings({ ...BASE, ...AZURE });
    expect(settings).toEqual({
      callers: ['users'],
      token: {
        tenantId: TENANT,
        audiences: [CLIENT, `api://${CLIENT}`],
        issuers: [`https://login.microsoftonline.com/${TENANT}/v2.0`],
        openIdConfigUrl: `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
        requiredScope: 'chat',
        maxLifetimeSeconds: 86_400,
      },
      trustAppServicePrincipal: false,
      warnings: [],
    });
    expect(Object.isFrozen(settings) && Object.isFrozen(settings.token) && Object.isFrozen(settings.callers)).toBe(
      true,
    );
  });

  it('allows users and function keys locally, and only users in Azure, by default', () => {
    expect(parseUserAuthSettings(BASE).callers).toEqual(['users', 'service']);
    expect(parseUserAuthSettings({ ...BASE, ...AZURE }).callers).toEqual(['users']);
  });

  it('needs no tenant or audience when only function keys are allowed', () => {
    expect(parseUserAuthSettings({ CHAT_AUTH_CALLERS: 'service' })).toMatchObject({ callers: ['service'] });
    expect(parseUserAuthSettings({ CHAT_AUTH_CALLERS: 'service' }).token).toBeUndefined();
  });

  it('takes an issuer list and an OpenID configuration URL for multi-tenant APIs, without a tenant', () => {
    const issuers = `https://login.microsoftonline.com/${TENANT}/v2.0,https://login.microsoftonline.com/${CLIENT}/v2.0`;
    const url = 'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration';
    const settings = parseUserAuthSettings({
      CHAT_AUTH_AUDIENCE: CLIENT,
      CHAT_AUTH_ISSUERS: issuers,
      CHAT_AUTH_OPENID_CONFIG_URL: url,
    });
    expect(settings.token).toEqual({
      audiences: [CLIENT],
      issuers: issuers.split(','),
      openIdConfigUrl: url,
      requiredScope: 'chat',
      maxLifetimeSeconds: 86_400,
    });
  });

  it('reads the required scope and app role', () => {
    const settings = parseUserAuthSettings({
      ...BASE,
      CHAT_AUTH_REQUIRED_SCOPE: 'Chat.ReadWrite',
      CHAT_AUTH_REQUIRED_ROLE: 'Chat.Invoke',
    });
    expect(settings.token).toMatchObject({ requiredScope: 'Chat.ReadWrite', requiredRole: 'Chat.Invoke' });
  });

  it('trusts the App Service principal only when the platform says its authentication is on', () => {
    const asked = { ...BASE, CHAT_AUTH_TRUST_APP_SERVICE: 'true' };
    expect(parseUserAuthSettings({ ...asked, WEBSITE_AUTH_ENABLED: 'True' }).trustAppServicePrincipal).toBe(true);
    const ignored = parseUserAuthSettings(asked);
    expect(ignored.trustAppServicePrincipal).toBe(false);
    expect(ignored.warnings[0]).toMatch(/WEBSITE_AUTH_ENABLED/);
    expect(parseUserAuthSettings({ ...BASE, WEBSITE_AUTH_ENABLED: 'True' }).trustAppServicePrincipal).toBe(false);
  });

  it.each([
    [{ CHAT_AUTH_CALLERS: 'everyone' }, 'CHAT_AUTH_CALLERS', 'CHAT_AUTH_CALLERS=users'],
    [{ CHAT_AUTH_CALLERS: 'users', CHAT_AUTH_TENANT_ID: TENANT }, 'CHAT_AUTH_AUDIENCE', 'CHAT_AUTH_CALLERS=service'],
    [{ ...BASE, CHAT_AUTH_AUDIENCE: 'my-api' }, 'CHAT_AUTH_AUDIENCE', `api://${CLIENT}`],
    [{ CHAT_AUTH_AUDIENCE: CLIENT }, 'CHAT_AUTH_TENANT_ID', `CHAT_AUTH_TENANT_ID=${TENANT}`],
    [{ ...BASE, CHAT_AUTH_TENANT_ID: 'contoso.onmicrosoft.com' }, 'CHAT_AUTH_TENANT_ID', 'a GUID'],
    [{ ...BASE, CHAT_AUTH_ISSUERS: 'http://evil.example/v2.0' }, 'CHAT_AUTH_ISSUERS', 'https URLs'],
    [
      { ...BASE, CHAT_AUTH_OPENID_CONFIG_URL: 'http://10.0.0.5/.well-known/openid-configuration' },
      'CHAT_AUTH_OPENID_CONFIG_URL',
      'http only on 127.0.0.1',
    ],
    [{ ...BASE, CHAT_AUTH_REQUIRED_SCOPE: 'chat read' }, 'CHAT_AUTH_REQUIRED_SCOPE', 'CHAT_AUTH_REQUIRED_SCOPE=chat'],
    [
      { ...BASE, CHAT_AUTH_REQUIRED_ROLE: 'Chat Invoke' },
      'CHAT_AUTH_REQUIRED_ROLE',
      'CHAT_AUTH_REQUIRED_ROLE=Chat.Invoke',
    ],
    [
      { ...BASE, CHAT_AUTH_TRUST_APP_SERVICE: 'yes' },
      'CHAT_AUTH_TRUST_APP_SERVICE',
      'CHAT_AUTH_TRUST_APP_SERVICE=false',
    ],
  ])('refuses %j, naming %s with a valid example', (env, setting, expected) => {
    const error = configError(env);
    expect(error.setting).toBe(setting);
    expect(error.message).toContain('Example:');
    expect(error.message).toContain(expected);
  });

  it('accepts plain http for the OpenID configuration on loopback, where the local provider runs', () => {
    const url = 'http://127.0.0.1:7083/.well-known/openid-configuration';
    expect(parseUserAuthSettings({ ...BASE, CHAT_AUTH_OPENID_CONFIG_URL: url }).token?.openIdConfigUrl).toBe(url);
  });
});
