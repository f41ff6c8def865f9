import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createHealthHandler } from '../../functions/health-get';
import type { ChatService } from '../../shared/chat-service';
import type { QuotaStoreState } from '../../shared/quota';
import { LoadShedder } from '../../shared/resilience/load-shedder';
import { HEALTH_CHECK_DEFAULTS } from '../../shared/stamp-health';
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
  regions: {
    name: string;
    state: string;
    trial?: string;
    verdict?: string;
    throttledUntil?: string;
    lastCheck?: { ok: boolean; at: string; code?: string };
  }[];
  store?: QuotaStoreState;
}

/** Sends chats until the breakers have seen what the simulators now do (two failures open one). */
async function chatTwice(chat: ChatService): Promise<void> {
  const post = createChatPostHandler({ chat });
  await post(jsonRequest('/api/chat', question), invocation());
  await post(jsonRequest('/api/chat', question), invocation());
}

const calls = () => regions.primary.stats().total + regions.secondary.stats().total;

describe('GET /api/health as the Front Door probe', () => {
  it('checks each region for real on a fresh instance before its first 200, then answers from that check for the interval', async () => {
    const health = createHealthHandler({ chat: regions.service() });
    const response = await health();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ status: 'ok' });
    expect(header(response, 'cache-control')).toBe('no-store');
    // One one-token completion per region, nothing more.
    expect(regions.primary.stats().recent.map((r) => r.status)).toEqual([200]);
    expect(regions.secondary.stats().recent.map((r) => r.status)).toEqual([200]);
    const body = response.jsonBody as HealthBody;
    expect(body.regions.map((r) => [r.name, r.state, r.verdict, r.lastCheck?.ok])).toEqual([
      ['eastus2', 'closed', 'serving', true],
      ['swedencentral', 'closed', 'serving', true],
    ]);

    regions.clock.advance(HEALTH_CHECK_DEFAULTS.intervalMs - 1);
    expect((await health()).status).toBe(200);
    expect(calls()).toBe(2);
    regions.clock.advance(1);
    expect((await health()).status).toBe(200);
    expect(calls()).toBe(4);
  });

  it('answers 503 on a fresh instance whose regions are all down, without any chat', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const response = await createHealthHandler({ chat: regions.service() })();
    expect(response.status).toBe(503);
    const body = response.jsonBody as HealthBody;
    expect(body.status).toBe('degraded');
    expect(body.regions.map((r) => [r.verdict, r.lastCheck?.ok, r.lastCheck?.code])).toEqual([
      ['failing', false, 'region_unavailable'],
      ['failing', false, 'region_unavailable'],
    ]);
  });

  it('shares one check between concurrent probes', async () => {
    const health = createHealthHandler({ chat: regions.service() });
    const responses = await Promise.all(Array.from({ length: 8 }, () => health()));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 200));
    expect(calls()).toBe(2);
  });

  it('checks nothing while a chat succeeded within the interval', async () => {
    const chat = regions.service();
    await createChatPostHandler({ chat })(jsonRequest('/api/chat', question), invocation());
    const response = await createHealthHandler({ chat })();
    expect(response.status).toBe(200);
    expect(calls()).toBe(1);
    expect((response.jsonBody as HealthBody).regions.map((r) => r.verdict)).toEqual(['serving', 'unchecked']);
  });

  it('comes back to 200 with no chat traffic once both regions recover: the check is the breaker’s trial', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const chat = regions.service();
    await chatTwice(chat);
    const health = createHealthHandler({ chat });
    expect((await health()).status).toBe(503);
    const afterChats = calls();

    // Down through the first cool-down: the trial fails, the breakers open again, still 503.
    regions.clock.advance(30_000);
    const stillDown = await health();
    expect(stillDown.status).toBe(503);
    expect((stillDown.jsonBody as HealthBody).regions.map((r) => [r.state, r.verdict])).toEqual([
      ['open', 'open'],
      ['open', 'open'],
    ]);
    expect(calls()).toBe(afterChats + 2);
    // One trial per region per cool-down, however many probes come.
    regions.clock.advance(29_999);
    expect((await health()).status).toBe(503);
    expect(calls()).toBe(afterChats + 2);

    regions.primary.setFault({ kind: 'none' });
    regions.secondary.setFault({ kind: 'none' });
    regions.clock.advance(1);
    const recovered = await health();
    expect(recovered.status).toBe(200);
    expect((recovered.jsonBody as HealthBody).regions.map((r) => [r.state, r.verdict])).toEqual([
      ['closed', 'serving'],
      ['closed', 'serving'],
    ]);
    // The next chat goes to the primary at once: the breaker closed on the check.
    const answer = await createChatPostHandler({ chat })(jsonRequest('/api/chat', question), invocation());
    expect(header(answer, 'x-chat-region')).toBe('eastus2');
  });

  it('reports a breaker past its cool-down as ready to retry while a chat makes the trial, and counts it as serving', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const chat = regions.service();
    await chatTwice(chat);
    regions.clock.advance(30_000);
    expect(chat.health.snapshot().map((r) => [r.state, r.trial])).toEqual([
      ['half-open', 'ready'],
      ['half-open', 'ready'],
    ]);
    chat.health.admit('eastus2'); // a chat takes the primary's trial
    const response = await createHealthHandler({ chat })();
    expect(response.status).toBe(200);
    const body = response.jsonBody as HealthBody;
    expect(body.regions.map((r) => [r.state, r.trial, r.verdict])).toEqual([
      ['half-open', 'in-flight', 'trial'],
      ['half-open', 'ready', 'unchecked'],
    ]);
  });

  it('says why a region fails with an error code only: no endpoint, deployment or key', async () => {
    const chat = regions.service({ AZURE_OPENAI_API_KEY: 'wrong-secret-key-123' });
    const response = await createHealthHandler({ chat })();
    expect(response.status).toBe(503);
    const text = JSON.stringify(response.jsonBody);
    expect((response.jsonBody as HealthBody).regions.map((r) => r.lastCheck?.code)).toEqual([
      'key_rejected',
      'key_rejected',
    ]);
    for (const secret of ['wrong-secret-key', regions.primary.url, regions.secondary.url, '127.0.0.1', 'api-key'])
      expect(text).not.toContain(secret);
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
