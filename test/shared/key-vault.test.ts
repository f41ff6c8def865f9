import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeEntraToken, startSimulator } from '../../simulator';
import { ChatService } from '../../shared/chat-service';
import { loadConfig } from '../../shared/config';
import { createCredentials } from '../../shared/credentials';
import { rejection } from './rejection';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../stand-ins/key-vault';
import { hello, startTwoRegions, type TwoRegions } from './two-regions';

const DEVELOPER = '2f4c1e8a-0b7d-4f43-9a51-5d3e6c7b8a90';

/** A developer's token, as AzureCliCredential would give it, with a given object id. */
function developerCredential(oid = DEVELOPER): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken(scope: string | string[]): Promise<AccessToken> {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return Promise.resolve({
        token: fakeEntraToken({ oid, aud: 'https://vault.azure.net' }),
        expiresOnTimestamp: Date.now() + 3_600_000,
      });
    },
  };
}

let vault: KeyVaultStandIn;
let regions: TwoRegions;
beforeEach(async () => {
  vault = await startKeyVaultStandIn();
  regions = await startTwoRegions({ primary: { apiKey: 'key-east-1' }, secondary: { apiKey: 'key-sweden-1' } });
  vault.secrets.set('aoai-key-eastus2', 'key-east-1');
  vault.secrets.set('aoai-key-swedencentral', 'key-sweden-1');
});
afterEach(async () => {
  await Promise.all([vault.close(), regions.close()]);
});

function keyVaultService(credential = developerCredential(), vaultUrl = vault.url) {
  const config = loadConfig({
    CHAT_REGIONS: JSON.stringify([
      {
        name: 'eastus2',
        endpoint: `${regions.primary.url}/`,
        keySecretName: 'aoai-key-eastus2',
        deployments: { 'gpt-4o': 'gpt-4o' },
      },
      {
        name: 'swedencentral',
        endpoint: `${regions.secondary.url}/`,
        keySecretName: 'aoai-key-swedencentral',
        deployments: { 'gpt-4o': 'gpt-4o' },
      },
    ]),
    KEY_VAULT_URL: vaultUrl,
  });
  expect(config.auth.mode).toBe('key-vault');
  return new ChatService({
    config,
    credentials: createCredentials(config, {
      credential,
      // The real SecretClient; only the TLS trust and the challenge host check are relaxed for the stand-in on 127.0.0.1.
      secretClientOptions: {
        disableChallengeResourceVerification: true,
        additionalPolicies: [{ policy: vault.trustPolicy, position: 'perCall' }],
        // One try: a vault that cannot be reached is reported at once (the pipeline would back off and retry).
        retryOptions: { maxRetries: 0 },
      },
      minRefreshIntervalMs: 0,
    }),
  });
}

describe('API keys from Key Vault', () => {
  it('reads each region key with the real SecretClient after the bearer challenge, once', async () => {
    const credential = developerCredential();
    const chat = keyVaultService(credential);
    await chat.complete({ ...hello, requestId: 'k1' });
    await chat.complete({ ...hello, requestId: 'k2' });
    expect(vault.reads).toEqual(['aoai-key-eastus2']);
    expect(credential.scopes).toContain('https://vault.azure.net/.default');
  });

  it('re-reads a rotated key once after a 401 and succeeds with it', async () => {
    const chat = keyVaultService();
    await chat.complete({ ...hello, requestId: 'before' });
    // Rotation: the resource now takes only the new key, and Key Vault holds it; our cache has the old one.
    const { port } = regions.primary;
    await regions.primary.close();
    const rotated = await startSimulator({ port, region: 'eastus2', apiKey: 'key-east-2' });
    const secondary = regions.secondary;
    regions = {
      ...regions,
      primary: rotated,
      close: async () => void (await Promise.all([rotated.close(), secondary.close()])),
    };
    vault.secrets.set('aoai-key-eastus2', 'key-east-2');
    vault.reads.length = 0;

    const result = await chat.complete({ ...hello, requestId: 'after' });
    expect(result.region).toBe('eastus2');
    expect(result.attempts).toHaveLength(1);
    expect(vault.reads).toEqual(['aoai-key-eastus2']);
    expect(rotated.stats().byStatus).toEqual({ '401': 1, '200': 1 });
  });

  it('does not re-read in a loop when Key Vault holds the same wrong key', async () => {
    vault.secrets.set('aoai-key-eastus2', 'wrong-key');
    vault.secrets.set('aoai-key-swedencentral', 'wrong-key');
    const chat = keyVaultService();
    const error = await rejection(chat.complete({ ...hello, requestId: 'wrong' }));
    expect(error.code).toBe('key_rejected');
    expect(error.diagnosis).toContain('Key Vault secret "aoai-key-eastus2"');
    // One read per region, one re-read per region after its 401, and no more.
    expect(vault.reads.filter((n) => n === 'aoai-key-eastus2')).toHaveLength(2);
  });

  it('reports a vault that cannot be reached as key_vault_unreachable, naming KEY_VAULT_URL', async () => {
    const gone = await startKeyVaultStandIn();
    await gone.close();
    const error = await rejection(
      keyVaultService(developerCredential(), gone.url).complete({ ...hello, requestId: 'kv' }),
    );
    expect(error.code).toBe('key_vault_unreachable');
    expect(error.diagnosis).toContain(gone.url);
    expect(error.diagnosis).toContain('KEY_VAULT_URL');
  });

  it('explains a missing Key Vault role with the caller and the role to assign', async () => {
    vault.readers.add('someone-else');
    const error = await rejection(keyVaultService().complete({ ...hello, requestId: 'denied' }));
    expect(error.code).toBe('key_vault_access_denied');
    expect(error.diagnosis).toContain(DEVELOPER);
    expect(error.diagnosis).toContain('Key Vault Secrets User');
    expect(error.diagnosis).toContain('5-15 minutes');
  });

  it('explains a missing secret with its name and how to set it', async () => {
    vault.secrets.delete('aoai-key-eastus2');
    const error = await rejection(keyVaultService().complete({ ...hello, requestId: 'missing' }));
    expect(error.code).toBe('secret_not_found');
    expect(error.diagnosis).toContain('"aoai-key-eastus2"');
    expect(error.diagnosis).toContain('az keyvault secret set');
  });
});
