/**
 * The quota store (Azurite here, Table Storage in Azure) going away mid-run: chats go on with limits held
 * per instance, health says the store is degraded, and nothing crashes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningIdentityProvider } from '../../local/identity';
import { useAzurite } from '../stand-ins/azurite';
import { startSignedInBackend, type Backend, type SignedInBackend } from './backend';

const azurite = useAzurite();
let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  signedIn = await startSignedInBackend({
    CHAT_AUTH_CALLERS: 'users',
    CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
    CHAT_USER_REQUESTS_PER_MINUTE: '100',
  });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

async function chat(): Promise<number> {
  const response = await fetch(`${backend.host.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await identity.token('heidi')}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
  });
  await response.body?.cancel();
  return response.status;
}

async function health(): Promise<{ status: string; store: { state: string; lastError?: string } }> {
  return (await (await fetch(`${backend.host.url}/api/health`)).json()) as {
    status: string;
    store: { state: string; lastError?: string };
  };
}

it('keeps answering chats when the store stops, and says so in health', async () => {
  expect(await chat()).toBe(200);
  expect((await health()).store.state).toBe('ok');

  await azurite.stop();
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push(await chat());
  expect(statuses).toEqual([200, 200, 200, 200, 200]);
  const degraded = await health();
  expect(degraded.status).toBe('degraded');
  expect(degraded.store).toMatchObject({ state: 'degraded', lastError: expect.any(String) });
});
