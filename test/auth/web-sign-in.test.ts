import { describe, expect, it } from 'vitest';
import { webSignIn, type WebSignIn } from '../../shared/auth';
import { ConfigError } from '../../shared/config';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const API = '6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const SPA = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const AZURE = { WEBSITE_SITE_NAME: 'chat-app', WEBSITE_INSTANCE_ID: 'abc' };
const ENTRA = { ...AZURE, CHAT_AUTH_TENANT_ID: TENANT, CHAT_AUTH_AUDIENCE: `${API},api://${API}` };
const LOCAL_PROVIDER = {
  CHAT_AUTH_CALLERS: 'users,service',
  CHAT_SERVICE_KEYS: 'service-secret',
  CHAT_AUTH_TENANT_ID: TENANT,
  CHAT_AUTH_AUDIENCE: API,
  CHAT_AUTH_ISSUERS: `http://127.0.0.1:7083/${TENANT}/v2.0`,
  CHAT_AUTH_OPENID_CONFIG_URL: 'http://127.0.0.1:7083/.well-known/openid-configuration',
};

describe('webSignIn', () => {
  it.each<{ case: string; env: Record<string, string>; signIn: WebSignIn }>([
    { case: 'only service callers', env: { CHAT_AUTH_CALLERS: 'service' }, signIn: { kind: 'none' } },
    { case: 'no caller is checked', env: { ...ENTRA, CHAT_AUTH_LEVEL: 'anonymous' }, signIn: { kind: 'none' } },
    { case: 'users but no SPA registration', env: ENTRA, signIn: { kind: 'none' } },
    {
      case: "npm start's provider on loopback",
      env: LOCAL_PROVIDER,
      signIn: { kind: 'local', tokenUrl: 'http://127.0.0.1:7083/token' },
    },
    {
      case: 'the loopback provider, even with a SPA registration',
      env: { ...LOCAL_PROVIDER, CHAT_WEB_CLIENT_ID: SPA },
      signIn: { kind: 'local', tokenUrl: 'http://127.0.0.1:7083/token' },
    },
    {
      case: 'Entra ID with a SPA registration',
      env: { ...ENTRA, CHAT_WEB_CLIENT_ID: SPA },
      signIn: {
        kind: 'msal',
        clientId: SPA,
        authority: `https://login.microsoftonline.com/${TENANT}`,
        scopes: [`api://${API}/chat`],
      },
    },
  ])('says $signIn.kind for $case', ({ env, signIn }) => {
    expect(webSignIn(env)).toEqual(signIn);
  });

  it('asks for the configured scope of the API, by its client id when no app id URI is listed', () => {
    const signIn = webSignIn({
      ...ENTRA,
      CHAT_AUTH_AUDIENCE: API,
      CHAT_AUTH_REQUIRED_SCOPE: 'Chat.Ask',
      CHAT_WEB_CLIENT_ID: SPA,
    });
    expect(signIn).toMatchObject({ kind: 'msal', scopes: [`api://${API}/Chat.Ask`] });
  });

  it('signs in at the authority of the metadata the app trusts, so a sovereign cloud stays itself', () => {
    const signIn = webSignIn({
      ...ENTRA,
      CHAT_AUTH_OPENID_CONFIG_URL: `https://login.microsoftonline.us/${TENANT}/v2.0/.well-known/openid-configuration`,
      CHAT_WEB_CLIENT_ID: SPA,
    });
    expect(signIn).toMatchObject({ kind: 'msal', authority: `https://login.microsoftonline.us/${TENANT}` });
  });

  it('holds no secret: the service keys are nowhere in it', () => {
    expect(JSON.stringify(webSignIn(LOCAL_PROVIDER))).not.toContain('service-secret');
  });

  it('refuses a SPA client id that is not a GUID, naming the setting with an example', () => {
    expect(() => webSignIn({ ...ENTRA, CHAT_WEB_CLIENT_ID: 'demo-page' })).toThrow(ConfigError);
    expect(() => webSignIn({ ...ENTRA, CHAT_WEB_CLIENT_ID: 'demo-page' })).toThrow(/CHAT_WEB_CLIENT_ID=[0-9a-f-]{36}/);
  });
});
