import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { loadConfig, type RegionConfig } from '../../shared/config';
import type { RegionAuth } from '../../shared/credentials';
import { ChatError } from '../../shared/errors';
import { Upstream } from '../../shared/upstream';
import { rejection } from './rejection';

let region: RunningSimulator;
beforeEach(async () => {
  region = await startSimulator({ port: 0, region: 'eastus2', apiKey: 'key-2' });
});
afterEach(async () => {
  await region.close();
});

function regionConfig(): RegionConfig {
  const config = loadConfig({
    CHAT_REGIONS: JSON.stringify([
      { name: 'eastus2', endpoint: `${region.url}/`, deployments: { 'gpt-4o': 'gpt-4o', mini: 'gpt-4o-mini' } },
    ]),
    AZURE_OPENAI_API_KEY: 'unused',
  });
  const [only] = config.regions;
  if (!only) throw new Error('no region');
  return only;
}

/** Key auth whose key is `keys[0]` until a refresh after a 401 moves on to the next one. */
function rotatingKeys(...keys: string[]): RegionAuth & { refreshes: number } {
  let index = 0;
  return {
    refreshes: 0,
    apiKey: 'key-in-api-key-header',
    headers: () => Promise.resolve({ 'api-key': keys[index] ?? '', Authorization: null }),
    refreshAfterUnauthorized() {
      this.refreshes++;
      if (index + 1 >= keys.length) return Promise.resolve(false);
      index++;
      return Promise.resolve(true);
    },
    describe: () => ({ keySecretName: 'aoai-key-eastus2' }),
  };
}

function upstream(auth: RegionAuth): Upstream {
  return new Upstream({ region: regionConfig(), auth, authMode: 'key-vault', timeoutMs: 5_000 });
}

const ping = { messages: [{ role: 'user' as const, content: 'ping' }] };

describe('Upstream', () => {
  it("calls the region's deployment of the model with the request id, and hands back Azure's id of the answer", async () => {
    const answer = await upstream(rotatingKeys('key-2')).complete(ping, { model: 'mini', requestId: 'req-1' });
    expect(answer.value.choices[0]?.message.content).toBeTruthy();
    expect(answer.upstreamRequestId).toMatch(/\S/);
    const call = region.stats().recent.at(-1);
    expect(call?.clientRequestId).toBe('req-1');
    expect(call?.deployment).toBe('gpt-4o-mini');
  });

  it('retries once with the new key after a 401 when the key was rotated', async () => {
    const auth = rotatingKeys('key-1', 'key-2');
    const answer = await upstream(auth).complete(ping, { model: 'gpt-4o', requestId: 'rotated' });
    expect(answer.value.choices).toHaveLength(1);
    expect(auth.refreshes).toBe(1);
    expect(region.stats().total).toBe(2);
  });

  it('classifies a rejected key into key_rejected naming the secret', async () => {
    const error = await rejection(upstream(rotatingKeys('wrong')).complete(ping, { model: 'gpt-4o', requestId: 'x' }));
    expect(error.code).toBe('key_rejected');
    expect(error.upstreamStatus).toBe(401);
    expect(error.diagnosis).toContain('Key Vault secret "aoai-key-eastus2"');
  });

  it('opens a stream once the first chunk worth forwarding is in hand', async () => {
    const answer = await upstream(rotatingKeys('key-2')).stream(
      { ...ping, stream_options: { include_usage: true } },
      { model: 'gpt-4o', requestId: 's' },
    );
    expect(answer.value.first?.choices.length).toBeGreaterThan(0);
    await answer.value.rest.return?.(undefined);
  });

  it('never calls a region for a model it does not deploy, Object.prototype names included', async () => {
    const call = upstream(rotatingKeys('key-2'));
    for (const model of ['gpt-9', 'constructor', '__proto__', 'toString']) {
      expect(call.deployment(model)).toBeUndefined();
      await expect(call.complete(ping, { model, requestId: 'm' })).rejects.not.toBeInstanceOf(ChatError);
    }
    expect(region.stats().total).toBe(0);
  });
});
