import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createHealthHandler } from '../../functions/health-get';
import type { ChatService } from '../../shared/chat-service';
import type { QuotaStoreState } from '../../shared/quota';
import { LoadShedder } from '../../shared/resilience/load-shedder';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { header, invocation, jsonRequest } from './http';

// GET /api/health is the probe Azure Front Door reads to choose a stamp (infra/README.md): its status
// code must say whether this stamp can answer a chat, and nothing else.

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
});
afterEach(async () => {
  await regions.close();
});

const question = { messages: [{ role: 'user', content: 'Hello' }] };

interface HealthBody {
  status: string;
  models: string[];
  regions: { name: string; state: string; throttledUntil?: string }[];
  store?: QuotaStoreState;
}

/** Sends chats until the breakers have seen what the simulators now do (two failures open one). */
async function chatTwice(chat: ChatService): Promise<void> {
  const post = createChatPostHandler({ chat });
  await post(jsonRequest('/api/chat', question), invocation());
  await post(jsonRequest('/api/chat', question), invocation());
}

describe('GET /api/health as the Front Door probe', () => {
  it('answers 200 ok while every region is closed, without calling a model', async () => {
    const response = await createHealthHandler({ chat: regions.service() })();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ status: 'ok' });
    expect(header(response, 'cache-control')).toBe('no-store');
    expect(regions.primary.stats().total + regions.secondary.stats().total).toBe(0);
  });

  it('still answers 200 when one region is out, since the other serves', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const chat = regions.service();
    await chatTwice(chat);
    const response = await createHealthHandler({ chat })();
    expect(response.status).toBe(200);
    const body = response.jsonBody as HealthBody;
    expect(body.status).toBe('ok');
    expect(body.regions.map((r) => [r.name, r.state])).toEqual([
      ['eastus2', 'open'],
      ['swedencentral', 'closed'],
    ]);
  });

  it('answers 503 with the same body when every region is open-breaker, so Front Door moves to the other stamp', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const chat = regions.service();
    await chatTwice(chat);
    const response = await createHealthHandler({ chat })();
    expect(response.status).toBe(503);
    expect(header(response, 'cache-control')).toBe('no-store');
    const body = response.jsonBody as HealthBody;
    expect(body.status).toBe('degraded');
    expect(body.models.length).toBeGreaterThan(0);
    expect(body.regions.map((r) => r.state)).toEqual(['open', 'open']);
  });

  it('answers 200 when every region is only throttled: both stamps share those accounts, so moving would not help', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    regions.secondary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    const chat = regions.service();
    await createChatPostHandler({ chat })(jsonRequest('/api/chat', question), invocation());
    const response = await createHealthHandler({ chat })();
    const body = response.jsonBody as HealthBody;
    expect(body.regions.every((r) => r.throttledUntil !== undefined)).toBe(true);
    expect(body.status).toBe('degraded');
    expect(response.status).toBe(200);
  });

  it('answers 200 with a degraded quota store: chats still run, counted per instance', async () => {
    const store: QuotaStoreState = {
      state: 'degraded',
      since: '2026-01-01T00:00:00.000Z',
      lastError: 'table store unreachable',
      nextProbeAt: '2026-01-01T00:00:05.000Z',
    };
    const response = await createHealthHandler({ chat: regions.service(), quota: { state: () => store } })();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ status: 'degraded', store });
  });

  it('answers 200 while this instance sheds load, saying so: one busy instance must not take the stamp out', async () => {
    const shedder = new LoadShedder({ settings: { lagMs: 100 }, sampler: () => ({ stop() {} }) });
    const health = createHealthHandler({ chat: regions.service(), overload: shedder });
    expect((await health()).jsonBody).toMatchObject({ status: 'ok', overload: { state: 'admitting', lagMs: 0 } });
    shedder.admit('chat-post'); // one in flight
    shedder.observe(500, 10_000); // 500 ms of lag for 10 s
    shedder.admit('chat-post');
    const response = await health();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      status: 'degraded',
      overload: { state: 'shedding', thresholdMs: 100, inFlight: 1, shed: 1 },
    });
  });
});
