import { APIConnectionError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { keyVaultError } from '../../shared/credentials';
import { ChatError, fromUpstream, type UpstreamContext } from '../../shared/errors';
import { wire } from '../wire';

const ctx: UpstreamContext = {
  region: 'eastus2',
  endpoint: 'https://aoai-prod-eastus2.openai.azure.com/',
  model: 'gpt-4o',
  deployment: 'gpt-4o-prod',
  deployments: { 'gpt-4o': 'gpt-4o-prod', 'gpt-4o-mini': 'mini' },
  auth: 'managed-identity',
  identity: 'client id 1111',
};

/** The error the openai SDK raises for a captured Azure response. */
function sdkError(name: string, extraHeaders: Record<string, string> = {}): APIError {
  const capture = wire(name);
  const body = typeof capture.body === 'string' ? { error: { message: capture.body } } : capture.body;
  const headers = new Headers({ ...capture.headers, ...extraHeaders });
  return APIError.generate(capture.status ?? 500, body as object, undefined, headers);
}

describe('fromUpstream on real Azure responses', () => {
  it.each([
    ['aoai_400_content_filter_prompt_with_headers', 'managed-identity', 'content_filtered', 400, false],
    ['aoai_400_content_filter_prompt_jailbreak', 'managed-identity', 'content_filtered', 400, false],
    ['aoai_400_content_filter_prompt_2023_no_innererror', 'managed-identity', 'content_filtered', 400, false],
    ['aoai_400_context_length_exceeded', 'managed-identity', 'context_length_exceeded', 400, false],
    ['aoai_404_deployment_not_found', 'managed-identity', 'deployment_not_found', 502, false],
    ['aoai_401_invalid_api_key', 'api-key', 'key_rejected', 502, true],
    ['aoai_401_permission_denied_missing_data_action', 'managed-identity', 'permission_denied', 502, true],
    ['aoai_401_permission_denied_principal_no_access_legacy', 'managed-identity', 'permission_denied', 502, true],
    ['aoai_401_token_invalid_audience_or_expired', 'managed-identity', 'token_rejected', 502, true],
    ['aoai_403_authentication_type_disabled', 'key-vault', 'local_auth_disabled', 502, true],
    ['aoai_429_token_rate_limit_body', 'managed-identity', 'quota_exhausted', 429, true],
    ['aoai_429_token_rate_limit_new_wording_message_only', 'managed-identity', 'throttled', 429, true],
    ['aoai_500_server_error_while_processing', 'managed-identity', 'upstream_error', 502, true],
    ['aoai_500_server_error_processing_chat_completions', 'managed-identity', 'upstream_error', 502, true],
  ] as const)('classifies %s (%s auth) as %s', (name, auth, code, status, failover) => {
    const error = fromUpstream(sdkError(name), { ...ctx, auth });
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.failover).toBe(failover);
  });

  it('explains a missing role with the principal from Azure, the role to assign and the propagation delay', () => {
    const error = fromUpstream(sdkError('aoai_401_permission_denied_missing_data_action'), ctx);
    expect(error.diagnosis).toContain('XXXX-YYYY-4d9e-8e70-13c98fb84e7a');
    expect(error.diagnosis).toContain('Cognitive Services OpenAI User');
    expect(error.diagnosis).toContain('aoai-prod-eastus2.openai.azure.com');
    expect(error.diagnosis).toContain('5-15 minutes');
  });

  it('explains a missing deployment with its name, region and the model mapping', () => {
    const error = fromUpstream(sdkError('aoai_404_deployment_not_found'), ctx);
    expect(error.diagnosis).toContain('"gpt-4o-prod"');
    expect(error.diagnosis).toContain('eastus2');
    expect(error.diagnosis).toContain('deployment name, not model name');
    expect(error.diagnosis).toContain('gpt-4o -> gpt-4o-prod');
    // The client is told the model is unavailable, not the deployment name or region.
    expect(error.message).not.toContain('gpt-4o-prod');
    expect(error.message).not.toContain('eastus2');
  });

  it('names the Key Vault secret to check when a key is rejected', () => {
    const error = fromUpstream(sdkError('aoai_401_invalid_api_key'), {
      ...ctx,
      auth: 'key-vault',
      keySecretName: 'aoai-key-eastus2',
    });
    expect(error.code).toBe('key_rejected');
    expect(error.diagnosis).toContain('Key Vault secret "aoai-key-eastus2"');
  });

  it('reads the retry window from retry-after-ms, retry-after or the body sentence', () => {
    expect(fromUpstream(sdkError('aoai_429_token_rate_limit_new_wording_message_only'), ctx).retryAfterMs).toBe(45_000);
    expect(
      fromUpstream(sdkError('aoai_429_token_rate_limit_body', { 'retry-after-ms': '1200' }), ctx).retryAfterMs,
    ).toBe(1200);
  });

  it('says to check the resource name when the endpoint host does not resolve', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND aoai-typo.openai.azure.com'), { code: 'ENOTFOUND' });
    const error = fromUpstream(new APIConnectionError({ cause }), ctx);
    expect(error.code).toBe('endpoint_not_found');
    expect(error.diagnosis).toContain('check the resource name');
  });

  it('treats a refused connection as a region outage worth failing over', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const error = fromUpstream(new APIConnectionError({ cause }), ctx);
    expect(error.code).toBe('region_unavailable');
    expect(error.failover).toBe(true);
  });

  it('treats a body cut off while it is read (undici: TypeError terminated, cause ECONNRESET) as a connection failure worth failing over', () => {
    // What the openai client throws when a 200 answer's socket dies half way through its JSON body.
    const error = fromUpstream(
      new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }),
      ctx,
    );
    expect(error.code).toBe('region_unavailable');
    expect(error.failover).toBe(true);
    expect(error.diagnosis).toContain('Connection to region');
  });

  it('explains a missing credential instead of failing over on it', () => {
    const cause = Object.assign(
      new Error(
        'ManagedIdentityCredential: Authentication failed. Message Attempted to use the IMDS endpoint, but it is not available.',
      ),
      {
        name: 'CredentialUnavailableError',
      },
    );
    const error = fromUpstream(new Error('Failed to get token', { cause }), ctx);
    expect(error.code).toBe('credential_unavailable');
    expect(error.failover).toBe(false);
    expect(error.diagnosis).toContain('az login');
  });

  it('says the local simulator is not running, and how to start it, when a loopback endpoint refuses', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7081'), { code: 'ECONNREFUSED' });
    const local = { ...ctx, endpoint: 'http://127.0.0.1:7081/' };
    const error = fromUpstream(new APIConnectionError({ cause }), local);
    expect(error.code).toBe('region_unavailable');
    expect(error.diagnosis).toContain('ECONNREFUSED');
    expect(error.diagnosis).toContain('npm start');
    expect(error.diagnosis).toContain('npm run simulators');
    expect(
      fromUpstream(new APIConnectionError({ cause }), { ...ctx, endpoint: 'http://localhost:7081/' }).diagnosis,
    ).toContain('npm run simulators');
  });

  it('gives no simulator hint for a refused connection to a remote endpoint', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 20.1.2.3:443'), { code: 'ECONNREFUSED' });
    const error = fromUpstream(new APIConnectionError({ cause }), ctx);
    expect(error.diagnosis).toContain('ECONNREFUSED');
    expect(error.diagnosis).not.toContain('npm start');
  });

  it('keeps the cause of an error it cannot classify', () => {
    const thrown = 'a string, not an Error';
    const error = fromUpstream(thrown, ctx);
    expect(error.code).toBe('internal_error');
    expect(error.cause).toBe(thrown);
  });

  it('passes a ChatError through unchanged', () => {
    const original = new ChatError('secret_not_found', { message: 'x' });
    expect(fromUpstream(original, ctx)).toBe(original);
  });
});

describe('fromUpstream on a 404 that is not a missing deployment', () => {
  // No capture of this answer is in test/fixtures/azure-wire: this is the shape Azure sends for a
  // path it does not serve (a wrong endpoint path, or a resource that is not Azure OpenAI).
  const resourceNotFound = () =>
    APIError.generate(404, { error: { code: '404', message: 'Resource not found' } }, undefined, new Headers());

  it('is the operator configuration (endpoint_not_found, 502), not the client request', () => {
    const error = fromUpstream(resourceNotFound(), ctx);
    expect(error.code).toBe('endpoint_not_found');
    expect(error.status).toBe(502);
    expect(error.failover).toBe(true);
    expect(error.upstreamStatus).toBe(404);
  });

  it('names the endpoint that answered and the shape it should have', () => {
    const error = fromUpstream(resourceNotFound(), {
      ...ctx,
      endpoint: 'https://aoai-prod-eastus2.openai.azure.com/api/',
    });
    expect(error.diagnosis).toContain('https://aoai-prod-eastus2.openai.azure.com/api/');
    expect(error.diagnosis).toContain('Resource not found');
    expect(error.diagnosis).toContain('https://RESOURCE.openai.azure.com/openai/v1/');
    expect(error.diagnosis).toContain('CHAT_REGIONS');
    // The client learns nothing about the backend's endpoints.
    expect(error.message).not.toContain('aoai-prod-eastus2');
  });

  it('still reads a DeploymentNotFound 404 as a missing deployment', () => {
    expect(fromUpstream(sdkError('aoai_404_deployment_not_found'), ctx).code).toBe('deployment_not_found');
  });
});

describe('keyVaultError', () => {
  it.each(['REQUEST_SEND_ERROR', 'ENOTFOUND', 'ECONNREFUSED', 'ETIMEDOUT'])(
    'reports a vault that cannot be reached (%s) as key_vault_unreachable, not as access denied',
    (code) => {
      const thrown = Object.assign(new Error(`request failed: ${code}`), { code });
      const error = keyVaultError(thrown, 'aoai-key-eastus2', 'https://my-vault.vault.azure.net/');
      expect(error.code).toBe('key_vault_unreachable');
      expect(error.diagnosis).toContain('https://my-vault.vault.azure.net/');
      expect(error.diagnosis).toContain('KEY_VAULT_URL');
      expect(error.diagnosis).toContain('network');
      expect(error.cause).toBe(thrown);
    },
  );

  it('still reports a 403 from the vault as key_vault_access_denied', () => {
    const thrown = Object.assign(new Error('Caller: appid=1;oid=2'), { statusCode: 403 });
    expect(keyVaultError(thrown, 's', 'https://my-vault.vault.azure.net/').code).toBe('key_vault_access_denied');
  });
});
