/**
 * Two app instances as two node processes (the compiled quota module, as `npm run build` emits it) on
 * one Azurite: together they admit exactly the per-user limit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, transpile } from '../transpile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAzurite } from '../stand-ins/azurite';
import { NOON, newUser } from './quota';

const azurite = useAzurite();
let outDir = '';

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'quota-build-'));
  transpile(['shared', 'test/quota/fixtures/admit-worker.ts'], outDir);
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface WorkerResult {
  readonly outcomes: readonly string[];
  readonly state: { readonly state: string };
}

async function worker(userId: string, admits: number): Promise<WorkerResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(outDir, 'test', 'quota', 'fixtures', 'admit-worker.js')],
    {
      env: {
        PATH: process.env.PATH ?? '',
        // The project's packages, found from the temporary build.
        NODE_PATH: join(repoRoot, 'node_modules'),
        CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
        CHAT_USER_REQUESTS_PER_MINUTE: '20',
        USER_ID: userId,
        ADMITS: String(admits),
        NOW: String(NOON),
      },
      timeout: 30_000,
    },
  );
  return JSON.parse(stdout) as WorkerResult;
}

describe('two processes on one Azurite', () => {
  it('admit exactly 20 of 2 × 15 simultaneous requests of one user, and another user is unaffected', async () => {
    const [alice, bob] = [newUser().id, newUser().id];
    const [one, two, other] = await Promise.all([worker(alice, 15), worker(alice, 15), worker(bob, 5)]);
    const outcomes = [...one.outcomes, ...two.outcomes];
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'user_quota_exceeded')).toHaveLength(10);
    expect(other.outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect([one.state, two.state, other.state]).toEqual([{ state: 'ok' }, { state: 'ok' }, { state: 'ok' }]);
  }, 60_000);
});
