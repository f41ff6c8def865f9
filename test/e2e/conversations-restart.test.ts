/**
 * A conversation outlives the backend process and Azurite: the backend is `npm start`'s script in a
 * process of its own, stopped and started again; Azurite is stopped and started again on its data folder.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { useAzurite } from '../stand-ins/azurite';
import { processSettings, startBackendProcess, stopBackendProcess, transpiledApp } from './backend-process';

const azurite = useAzurite();
let outDir = '';
let identity: RunningIdentityProvider;
let regions: RunningSimulator[] = [];
let env: Record<string, string> = {};
let backend: { url: string; child: ChildProcess } | undefined;

beforeAll(async () => {
  outDir = transpiledApp('conversations-restart-');
  identity = await startIdentityProvider({ port: 0 });
  regions = [await startSimulator({ region: 'eastus2' }), await startSimulator({ region: 'swedencentral' })];
  env = processSettings([regions[0]!, regions[1]!], azurite.connectionString, identity.backendSettings());
  backend = await startBackendProcess(outDir, env);
}, 60_000);

afterAll(async () => {
  if (backend) await stopBackendProcess(backend.child);
  await Promise.all(regions.map((r) => r.close()));
  await identity?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

async function chat(text: string, conversationId?: string): Promise<Response> {
  return fetch(`${backend?.url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await identity.token('rita')}` },
    body: JSON.stringify({
      messages: [{ role: 'user', content: text }],
      ...(conversationId ? { sessionState: { conversationId } } : {}),
    }),
  });
}

async function messages(id: string): Promise<string[]> {
  const response = await fetch(`${backend?.url}/conversations/${id}`, {
    headers: { authorization: `Bearer ${await identity.token('rita')}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: { role: string }[] }).messages.map((m) => m.role);
}

describe('a conversation', () => {
  it('survives a restart of the backend and of Azurite on its data folder, and goes on', async () => {
    const first = (await (await chat('Remember the number 42')).json()) as { sessionState: { conversationId: string } };
    const id = first.sessionState.conversationId;
    await stopBackendProcess(backend!.child);
    await azurite.restart();
    backend = await startBackendProcess(outDir, env);
    expect(await messages(id)).toEqual(['user', 'assistant']);
    const next = await chat('Which number?', id);
    expect(next.status).toBe(200);
    expect(await messages(id)).toEqual(['user', 'assistant', 'user', 'assistant']);
  }, 60_000);
});
