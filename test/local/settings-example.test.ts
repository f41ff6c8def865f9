/**
 * local.settings.json.example works for `func start` as the README says: with `npm run simulators` running (the
 * simulated regions, the sign-in provider on 7083, Azurite's table and blob services), the app under Core Tools
 * trusts the same sign-in provider and keys as under `npm start`, and stores quotas and conversations in Azurite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDevelopmentStorage } from '../../local/azurite';
import { startIdentityProvider } from '../../local/identity';
import { chatAccess } from '../../shared/auth/access';
import { repoRoot } from '../transpile';

const example = JSON.parse(readFileSync(join(repoRoot, 'local.settings.json.example'), 'utf8')) as {
  Values: Record<string, string>;
};
const values = example.Values;

describe('local.settings.json.example', () => {
  it('trusts the sign-in provider npm run simulators starts on 7083, with the settings npm start gives the app', async () => {
    const provider = await startIdentityProvider({ port: 0 });
    try {
      // The same settings, the provider's port aside (tests cannot take 7083).
      for (const [name, value] of Object.entries(provider.backendSettings())) {
        expect(values[name], name).toBe(value.replaceAll(provider.url, 'http://127.0.0.1:7083'));
      }
    } finally {
      await provider.close();
    }
  });

  it('lets users through the Functions host (anonymous routes: the app checks every caller) and takes the local key', () => {
    const access = chatAccess(values);
    expect(access.routeAuthLevel).toBe('anonymous');
    expect(access.settings.callers).toEqual(expect.arrayContaining(['users', 'service']));
    expect(access.serviceKeys).toEqual([values.LOCAL_FUNCTION_KEYS]);
  });

  it("points the store and the Functions host's own storage (AzureWebJobsStorage, which a timer needs) at Azurite", () => {
    expect(isDevelopmentStorage(values.CHAT_STORAGE_CONNECTION_STRING)).toBe(true);
    expect(isDevelopmentStorage(values.AzureWebJobsStorage)).toBe(true);
  });
});
