/**
 * Two backend processes (`npm start`'s script, as Azure runs two instances of the app) on one Azurite and
 * one sign-in provider: a user's limits hold across both, whichever process answers.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { useAzurite } from '../stand-ins/azurite';
import { processSettings, startBackendProcess, transpiledApp } from './backend-process';

const REQUESTS_PER_MINUTE = 5;
const TOKENS_PER_DAY = 200;
const azurite = useAzurite();
let outDir = '';
let identity: RunningIdentityProvider;
let regions: RunningSimulator[] = [];
const backends: { url: string; child: ChildProcess }[] = [];

beforeAll(async () => {
  outDir = transpiledApp('two-backends-');
  identity = await startIdentityProvider({ port: 0 });
  regions = [await startSimulator({ region: 'eastus2' }), await startSimulator({ region: 'swedencentral' })];
  const env = processSettings([regions[0]!, regions[1]!], azurite.connectionString, {
    ...identity.backendSettings(),
    CHAT_USER_REQUESTS_PER_MINUTE: String(REQUESTS_PER_MINUTE),
    CHAT_USER_TOKENS_PER_DAY: String(TOKENS_PER_DAY),
  });
  backends.push(...(await Promise.all([startBackendProcess(outDir, env), startBackendProcess(outDir, env)])));
}, 60_000);

afterAll(async () => {
  for (const { child } of backends) child.kill('SIGTERM');
  await Promise.all(regions.map((r) => r.close()));
  await identity?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

interface Outcome {
  readonly status: number;
  readonly code?: string;
  readonly tokens?: number;
  readonly retryAfter?: number;
}

async function chatAs(user: string, backend: number, maxTokens?: number): Promise<Outcome> {
  const response = await fetch(`${backends[backend]!.url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await identity.token(user)}` },
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'Hello' }],
      ...(maxTokens ? { context: { max_tokens: maxTokens } } : {}),
    }),
  });
  const body = (await response.json()) as {
    error?: { code: string };
    context?: { usage?: { total_tokens?: number; totalTokens?: number } };
  };
  const usage = body.context?.usage;
  return {
    status: response.status,
    ...(body.error ? { code: body.error.code } : {}),
    ...(usage ? { tokens: usage.total_tokens ?? usage.totalTokens ?? 0 } : {}),
    ...(response.headers.get('retry-after') ? { retryAfter: Number(response.headers.get('retry-after')) } : {}),
  };
}

const minute = () => new Date().toISOString().slice(0, 16);

describe('two backend processes on one Azurite', () => {
  it('refuse the request past a user’s per-minute limit whichever process answers, and serve another user', async () => {
    // The limit counts per UTC minute: a run that straddles a minute boundary is run again with a new user.
    for (let run = 0; run < 2; run++) {
      const started = minute();
      const user = `erin-${run}-${Date.now()}`;
      const outcomes: Outcome[] = [];
      for (let i = 0; i <= REQUESTS_PER_MINUTE; i++) outcomes.push(await chatAs(user, i % 2, 5));
      const other = await chatAs(`frank-${run}-${Date.now()}`, 1, 5);
      if (minute() !== started) continue;
      expect(outcomes.slice(0, REQUESTS_PER_MINUTE).map((o) => o.status)).toEqual(
        Array.from({ length: REQUESTS_PER_MINUTE }, () => 200),
      );
      const refused = outcomes[REQUESTS_PER_MINUTE]!;
      expect(refused).toMatchObject({ status: 429, code: 'user_quota_exceeded' });
      expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfter).toBeLessThanOrEqual(60);
      expect(other.status).toBe(200);
      return;
    }
    throw new Error('Two runs in a row straddled a minute boundary');
  });

  it('count a user’s tokens a day from the answers’ real usage, across both processes', async () => {
    const user = `grace-${Date.now()}`;
    let used = 0;
    let served = 0;
    while (used < TOKENS_PER_DAY) {
      const outcome = await chatAs(user, served % 2);
      expect(outcome.status).toBe(200);
      expect(outcome.tokens).toBeGreaterThan(0);
      used += outcome.tokens!;
      served += 1;
    }
    const refused = await chatAs(user, served % 2);
    expect(refused).toMatchObject({ status: 429, code: 'user_quota_exceeded' });
    // Until the next UTC midnight.
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(refused.retryAfter).toBeLessThanOrEqual(86_400);
  });
});
