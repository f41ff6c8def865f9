import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config';

const REGIONS = JSON.stringify([
  {
    name: 'eastus2',
    endpoint: 'https://aoai-eastus2.openai.azure.com',
    deployments: { 'gpt-4o': 'gpt-4o-prod' },
    keySecretName: 'key-eastus2',
  },
  {
    name: 'swedencentral',
    endpoint: 'https://aoai-swedencentral.openai.azure.com/',
    deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'mini' },
    keySecretName: 'key-swedencentral',
  },
]);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('loadConfig', () => {
  it('parses regions in priority order into a frozen object with defaults', () => {
    const config = loadConfig({ CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k' });
    expect(config.regions.map((r) => r.name)).toEqual(['eastus2', 'swedencentral']);
    expect(config.regions[0]?.endpoint).toBe('https://aoai-eastus2.openai.azure.com/');
    expect(config.defaultModel).toBe('gpt-4o');
    expect(config).toMatchObject({
      attemptTimeoutMs: 30_000,
      requestTimeoutMs: 200_000,
      breakerFailureThreshold: 3,
      exposeDiagnostics: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.regions[0]?.deployments)).toBe(true);
  });

  it.each([
    [{}, 'api-key'],
    [{ KEY_VAULT_URL: 'https://kv.vault.azure.net/' }, 'key-vault'],
    [{ WEBSITE_INSTANCE_ID: 'abc' }, 'managed-identity'],
    [{ WEBSITE_SITE_NAME: 'func-chat' }, 'managed-identity'],
    [{ CONTAINER_NAME: 'some-sandbox' }, 'api-key'],
    [{ WEBSITE_INSTANCE_ID: 'abc', CHAT_AUTH_MODE: 'api-key' }, 'api-key'],
  ])('picks the auth mode automatically from %j', (env, mode) => {
    expect(loadConfig({ CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', ...env }).auth.mode).toBe(mode);
  });

  it('hides diagnostics from error bodies when running in Azure unless asked', () => {
    expect(loadConfig({ CHAT_REGIONS: REGIONS, WEBSITE_INSTANCE_ID: 'x' }).exposeDiagnostics).toBe(false);
    expect(
      loadConfig({ CHAT_REGIONS: REGIONS, WEBSITE_INSTANCE_ID: 'x', CHAT_EXPOSE_DIAGNOSTICS: 'true' })
        .exposeDiagnostics,
    ).toBe(true);
  });

  it.each([
    [{}, 'CHAT_REGIONS', 'is missing'],
    [{ CHAT_REGIONS: '[{' }, 'CHAT_REGIONS', 'not valid JSON'],
    [{ CHAT_REGIONS: '[]' }, 'CHAT_REGIONS', 'at least one region'],
    [
      { CHAT_REGIONS: '[{"name":"East US","endpoint":"https://x.openai.azure.com/","deployments":{"gpt-4o":"d"}}]' },
      'CHAT_REGIONS',
      'at 0.name',
    ],
    [
      { CHAT_REGIONS: '[{"name":"eastus2","endpoint":"not a url","deployments":{"gpt-4o":"d"}}]' },
      'CHAT_REGIONS',
      'at 0.endpoint',
    ],
    [
      { CHAT_REGIONS: '[{"name":"eastus2","endpoint":"https://x.openai.azure.com/","deployments":{}}]' },
      'CHAT_REGIONS',
      'at 0.deployments',
    ],
    [
      { CHAT_REGIONS: '[{"name":"eastus2","endpoint":"https://x/","deployments":{"a":"b"},"apiKey":"x"}]' },
      'CHAT_REGIONS',
      'apiKey',
    ],
    [{ CHAT_REGIONS: REGIONS, CHAT_AUTH_MODE: 'password' }, 'CHAT_AUTH_MODE', 'must be one of'],
    [{ CHAT_REGIONS: REGIONS }, 'AZURE_OPENAI_API_KEY', 'is missing'],
    [{ CHAT_REGIONS: REGIONS, CHAT_AUTH_MODE: 'key-vault' }, 'KEY_VAULT_URL', 'is missing'],
    [{ CHAT_REGIONS: REGIONS, KEY_VAULT_URL: 'kv' }, 'KEY_VAULT_URL', 'must be a vault URL'],
    [
      { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_DEFAULT_MODEL: 'gpt-5' },
      'CHAT_DEFAULT_MODEL',
      'which no region deploys',
    ],
    [
      { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_REQUEST_TIMEOUT_MS: '300000' },
      'CHAT_REQUEST_TIMEOUT_MS',
      'from 1000 to 225000',
    ],
    [
      { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_ATTEMPT_TIMEOUT_MS: 'soon' },
      'CHAT_ATTEMPT_TIMEOUT_MS',
      'whole number',
    ],
    [
      { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_EXPOSE_DIAGNOSTICS: 'yes' },
      'CHAT_EXPOSE_DIAGNOSTICS',
      'true or false',
    ],
    [
      { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_RESPONSE_ID_SECRET: 'short-secret' },
      'CHAT_RESPONSE_ID_SECRET',
      'at least 32 characters, got 12',
    ],
  ])('stops on %j naming %s and showing an example', (env, setting, problem) => {
    const error = configError(env);
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(problem);
    expect(error.message).toContain(`Example: ${setting}=`);
  });

  it('asks for keySecretName on every region in key-vault mode', () => {
    const regions = JSON.stringify([
      { name: 'eastus2', endpoint: 'https://x.openai.azure.com/', deployments: { 'gpt-4o': 'd' } },
    ]);
    const error = configError({ CHAT_REGIONS: regions, KEY_VAULT_URL: 'https://kv.vault.azure.net' });
    expect(error.message).toContain('keySecretName');
    expect(error.message).toContain('eastus2');
  });

  it('takes CHAT_RESPONSE_ID_SECRET when set, and never shows it in its message when it is too short', () => {
    const secret = 'x'.repeat(32);
    expect(loadConfig({ CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k' }).responseIdSecret).toBeUndefined();
    const env = { CHAT_REGIONS: REGIONS, AZURE_OPENAI_API_KEY: 'k', CHAT_RESPONSE_ID_SECRET: secret };
    expect(loadConfig(env).responseIdSecret).toBe(secret);
    expect(configError({ ...env, CHAT_RESPONSE_ID_SECRET: 'hunter2-hunter2' }).message).not.toContain('hunter2');
  });
});
