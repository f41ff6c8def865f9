/**
 * A restart of `npm start` is invisible to a client that stays open: the backend is `npm start`'s script in a
 * process of its own, stopped and started again on the same folder. Its sign-in provider keeps its signing keys and
 * the app its Responses id secret in `.local-secrets/`, so a token and a `previous_response_id` from before the
 * restart still work after it. The simulated regions and Azurite outlive the restart (they keep their state).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/azurite';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { regionsSetting } from '../shared/two-regions';
import { useAzurite } from '../stand-ins/azurite';
import { startBackendProcess, stopBackendProcess, transpiledApp } from './backend-process';

const azurite = useAzurite();
let outDir = '';
let regions: RunningSimulator[] = [];
let env: Record<string, string> = {};
let backend: Awaited<ReturnType<typeof startBackendProcess>> | undefined;

beforeAll(async () => {
  outDir = transpiledApp('restart-invisible-');
  regions = [await startSimulator({ region: 'eastus2' }), await startSimulator({ region: 'swedencentral' })];
  env = {
    CHAT_REGIONS: regionsSetting(regions[0]!, regions[1]!),
    CHAT_AUTH_MODE: 'api-key',
    AZURE_OPENAI_API_KEY: 'simulator-key',
    CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
    PORT: '0',
    // One port for both runs, as npm start's 7083: the tokens' issuer names it.
    IDENTITY_PROVIDER_PORT: String(await freePort()),
  };
  backend = await startBackendProcess(outDir, env);
}, 60_000);

afterAll(async () => {
  if (backend) await stopBackendProcess(backend.child);
  await Promise.all(regions.map((r) => r.close()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

async function userToken(user: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${env.IDENTITY_PROVIDER_PORT}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('a restart of npm start', () => {
  it('keeps a signed-in user signed in and a previous_response_id valid', async () => {
    const token = await userToken('alice');
    const client = () => new OpenAI({ baseURL: `${backend!.url}/v1/`, apiKey: token, maxRetries: 0 });
    const first = await client().responses.create({ model: 'gpt-4o', input: 'Remember the number 42' });

    await stopBackendProcess(backend!.child);
    backend = await startBackendProcess(outDir, env);

    const next = await client().responses.create({
      model: 'gpt-4o',
      input: 'Which number?',
      previous_response_id: first.id,
    });
    expect(next.previous_response_id).toBe(first.id);
    expect(next.output_text).toMatch(/\S/);
    const chat = await fetch(`${backend.url}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello again' }] }),
    });
    expect(chat.status).toBe(200);
    expect(existsSync(join(outDir, '.local-secrets', 'identity-keys.json'))).toBe(true);
    expect(existsSync(join(outDir, '.local-secrets', 'response-id-secret'))).toBe(true);
  }, 60_000);

  it('uses CHAT_RESPONSE_ID_SECRET as it is when it is set, and keeps nothing of its own for it', async () => {
    const dir = transpiledApp('restart-configured-');
    const configured = await startBackendProcess(dir, {
      ...env,
      IDENTITY_PROVIDER_PORT: '0',
      CHAT_RESPONSE_ID_SECRET: 'a-configured-secret-of-at-least-32-characters',
    });
    try {
      expect(existsSync(join(dir, '.local-secrets', 'response-id-secret'))).toBe(false);
    } finally {
      await stopBackendProcess(configured.child);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
