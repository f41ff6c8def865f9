import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeEntraToken, startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import { ChatService } from '../../shared/chat-service';
import { loadConfig } from '../../shared/config';
import { COGNITIVE_SERVICES_SCOPE, createCredentials } from '../../shared/credentials';
import { rejection } from './rejection';
import { hello } from './two-regions';

const APP_IDENTITY = '7d3c2f9e-5a1b-4c8d-9e0f-112233445566';
let sims: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

/** The Function App's managed identity, as ManagedIdentityCredential would answer; counts token requests. */
function identity(claims: Record<string, unknown> = { oid: APP_IDENTITY }): TokenCredential & { requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    getToken(scope: string | string[]): Promise<AccessToken> {
      requests.push(...(Array.isArray(scope) ? scope : [scope]));
      return Promise.resolve({ token: fakeEntraToken(claims), expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

async function keylessService(credential: TokenCredential, simOptions: SimulatorOptions = {}): Promise<ChatService> {
  const sim = await startSimulator({ port: 0, region: 'eastus2', ...simOptions });
  sims.push(sim);
  const config = loadConfig({
    CHAT_REGIONS: JSON.stringify([{ name: 'eastus2', endpoint: `${sim.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } }]),
    CHAT_AUTH_MODE: 'managed-identity',
    AZURE_CLIENT_ID: 'c0ffee00-1111-2222-3333-444455556666',
  });
  return new ChatService({ config, credentials: createCredentials(config, { credential }) });
}

describe('keyless auth with a managed identity', () => {
  it('sends a bearer token for Cognitive Services and caches it across requests', async () => {
    const credential = identity();
    const chat = await keylessService(credential);
    await chat.complete({ ...hello, requestId: 'a' });
    await chat.complete({ ...hello, requestId: 'b' });
    expect(credential.requests).toEqual([COGNITIVE_SERVICES_SCOPE]);
  });

  it('explains a missing role: which principal, which resource, which role, and the propagation delay', async () => {
    const chat = await keylessService(identity(), { bearer: 'no-role' });
    const error = await rejection(chat.complete({ ...hello, requestId: 'no-role' }));
    expect(error.code).toBe('permission_denied');
    expect(error.diagnosis).toContain(APP_IDENTITY);
    expect(error.diagnosis).toContain('Cognitive Services OpenAI User');
    expect(error.diagnosis).toMatch(/127\.0\.0\.1:\d+/);
    expect(error.diagnosis).toContain('5-15 minutes');
    expect(error.message).not.toContain(APP_IDENTITY);
  });

  it('explains a rejected token and names the identity and the audience it was issued for', async () => {
    const chat = await keylessService(identity({ oid: APP_IDENTITY, aud: 'https://management.azure.com' }), {
      acceptedBearerTokens: [fakeEntraToken({ oid: 'someone-else' })],
    });
    const error = await rejection(chat.complete({ ...hello, requestId: 'bad-token' }));
    expect(error.code).toBe('token_rejected');
    expect(error.diagnosis).toContain(`object id ${APP_IDENTITY}`);
    expect(error.diagnosis).toContain('audience https://management.azure.com');
    expect(error.diagnosis).toContain('https://cognitiveservices.azure.com/.default');
  });

  it('explains a missing identity instead of failing over', async () => {
    const unavailable: TokenCredential = {
      getToken: () =>
        Promise.reject(
          Object.assign(
            new Error(
              'ManagedIdentityCredential: Authentication failed. Message Attempted to use the IMDS endpoint, but it is not available.',
            ),
            {
              name: 'CredentialUnavailableError',
            },
          ),
        ),
    };
    const chat = await keylessService(unavailable);
    const error = await rejection(chat.complete({ ...hello, requestId: 'no-identity' }));
    expect(error.code).toBe('credential_unavailable');
    expect(error.diagnosis).toContain('managed identity');
    expect(sims[0]?.stats().total).toBe(0);
  });
});
