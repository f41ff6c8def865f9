import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterEach, describe, expect, it } from 'vitest';
import { azuriteConnectionString, ensureLocalStorage, freePort, startAzurite, type Azurite } from '../../local/azurite';

const folders: string[] = [];
const running: Azurite[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function folder(): string {
  const path = mkdtempSync(join(tmpdir(), 'azurite-launcher-'));
  folders.push(path);
  return path;
}

describe('startAzurite', () => {
  it('starts the table service on a free loopback port, keeps its data in the folder, and stops', async () => {
    const location = folder();
    const azurite = await startAzurite({ location });
    running.push(azurite);
    expect(azurite.tableEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
    const client = TableClient.fromConnectionString(azurite.connectionString, 'launcher', {
      allowInsecureConnection: true,
    });
    await client.createTable();
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
    await azurite.stop();
    expect(readdirSync(location)).toContain('__azurite_db_table__.json');
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(azurite.port, '127.0.0.1', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('reports a port that is taken instead of hanging', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await expect(startAzurite({ location: folder(), port: address.port })).rejects.toThrow(
        /Azurite .* exited|EADDRINUSE/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("builds the dev account's connection string around the endpoint", () => {
    const text = azuriteConnectionString('http://127.0.0.1:1234/devstoreaccount1');
    expect(text).toMatch(/^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=[A-Za-z0-9+/]{86}==;/);
    expect(text).toMatch(/;TableEndpoint=http:\/\/127\.0\.0\.1:1234\/devstoreaccount1$/);
  });
});

describe('ensureLocalStorage (npm start)', () => {
  it('leaves a configured store alone', async () => {
    const env = { CHAT_STORAGE_TABLE_ENDPOINT: 'https://st.table.core.windows.net' };
    expect(await ensureLocalStorage({ repoRoot: folder(), env })).toEqual({ kind: 'configured' });
  });

  it('starts Azurite on <repo>/.azurite when no store is configured, and says how to reach it', async () => {
    const repoRoot = folder();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const storage = await ensureLocalStorage({ repoRoot, env: {}, port });
    if (storage.kind !== 'azurite') throw new Error('expected Azurite');
    running.push(storage.azurite);
    expect(storage.env.CHAT_STORAGE_CONNECTION_STRING).toContain(
      `TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
    );
    expect(readdirSync(repoRoot)).toContain('.azurite');
  });

  it('starts Azurite for UseDevelopmentStorage=true (local.settings.json.example) when nothing serves the port', async () => {
    const port = await freePort();
    const env = { CHAT_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
    const storage = await ensureLocalStorage({ repoRoot: folder(), env, port });
    if (storage.kind !== 'azurite') throw new Error('expected Azurite');
    running.push(storage.azurite);
    expect(storage.env.CHAT_STORAGE_CONNECTION_STRING).toContain(`TableEndpoint=http://127.0.0.1:${port}/`);
  });

  it('uses the Azurite already on the port for UseDevelopmentStorage=true (npm run simulators)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const env = { CHAT_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
      expect(await ensureLocalStorage({ repoRoot: folder(), env, port })).toEqual({ kind: 'configured' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("Azurite's blob service (npm run simulators, for func start's AzureWebJobsStorage)", () => {
  it('starts on a free port and answers the Blob REST API of the dev account', async () => {
    const azurite = await startAzurite({ location: folder(), service: 'blob' });
    running.push(azurite);
    const response = await fetch(`http://127.0.0.1:${azurite.port}/devstoreaccount1?comp=list`);
    expect(response.headers.get('x-ms-request-id')).toBeTruthy();
    await response.text();
  });
});
