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

/** The stored messages of conversation `id`, as `role: content`. */
async function messages(id: string): Promise<string[]> {
  const response = await fetch(`${backend?.url}/conversations/${id}`, {
    headers: { authorization: `Bearer ${await identity.token('rita')}` },
  });
  expect(response.status).toBe(200);
  const page = (await response.json()) as { messages: { role: string; content: string }[] };
  return page.messages.map((m) => `${m.role}: ${m.content}`);
}

interface ChatAnswer {
  readonly message: { readonly content: string };
  readonly context: { readonly conversation: { readonly state: string; readonly id: string; readonly turn: number } };
}

describe('a conversation', () => {
  it('survives a restart of the backend and of Azurite on its data folder, and goes on', async () => {
    const first = (await (await chat('Remember the number 42')).json()) as ChatAnswer;
    const { id } = first.context.conversation;
    expect(first.context.conversation).toMatchObject({ state: 'stored', turn: 0 });
    await stopBackendProcess(backend!.child);
    await azurite.restart();
    backend = await startBackendProcess(outDir, env);
    const before = [`user: Remember the number 42`, `assistant: ${first.message.content}`];
    expect(await messages(id)).toEqual(before);
    const response = await chat('Which number?', id);
    expect(response.status).toBe(200);
    const next = (await response.json()) as ChatAnswer;
    // Stored, in the same conversation, as its second turn (not answered without history after the restart).
    expect(next.context.conversation).toEqual(expect.objectContaining({ state: 'stored', id, turn: 1 }));
    expect(await messages(id)).toEqual([...before, 'user: Which number?', `assistant: ${next.message.content}`]);
  }, 60_000);
});
