/**
 * What really reaches Application Insights: the chat service over two simulated regions, the real
 * applicationinsights v3 SDK and exporter, and a local HTTPS stand-in of the ingestion endpoint that
 * keeps every envelope. Each test force-flushes the SDK instead of waiting.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatService } from '../../shared/chat-service';
import { createTelemetry, type Telemetry, type TelemetrySettings } from '../../shared/telemetry';
import { LoadShedder } from '../../shared/resilience/load-shedder';
import { startAzureMonitor } from '../../shared/telemetry/azure-monitor';
import {
  dependencies,
  events,
  metricPoints,
  startIngestionStandIn,
  type Envelope,
  type IngestionStandIn,
} from '../stand-ins/ingestion';
import { collect, hello, startTwoRegions, type TwoRegions } from '../shared/two-regions';

// Statsbeat (the SDK's own usage telemetry) goes to a Microsoft endpoint; nothing here may leave loopback.
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const traceParent = `00-${TRACE_ID}-${PARENT_ID}-01`;

let ingestion: IngestionStandIn;
let regions: TwoRegions;
let settings: TelemetrySettings;
let telemetry: Telemetry;

beforeAll(async () => {
  ingestion = await startIngestionStandIn();
  regions = await startTwoRegions();
  settings = { connectionString: ingestion.connectionString, logContent: false };
  // The SDK starts once per process; started here first so its exporter trusts the stand-in.
  startAzureMonitor(settings, {
    exporter: {
      additionalPolicies: [{ policy: ingestion.trustPolicy, position: 'perCall' }],
      disableOfflineStorage: true,
    },
  });
  telemetry = createTelemetry(settings);
  await telemetry.ready();
});

afterAll(async () => {
  await telemetry.shutdown();
  await regions.close();
  await ingestion.close();
});

beforeEach(async () => {
  regions.primary.setFault({ kind: 'none' });
  regions.secondary.setFault({ kind: 'none' });
  await telemetry.flush();
  ingestion.clear();
});

function service(extra: Record<string, string> = {}, observer: Telemetry = telemetry): ChatService {
  return regions.service(extra, { observer });
}

/** Everything sent so far, after a force flush. */
async function emitted(): Promise<Envelope[]> {
  await telemetry.flush();
  return [...ingestion.envelopes];
}

function dependenciesOf(envelopes: readonly Envelope[], requestId: string) {
  return dependencies(envelopes)
    .filter((e) => e.data.baseData.properties?.requestId === requestId)
    .map((e) => ({ ...e.data.baseData, tags: e.tags }));
}

function apimRequestIds(sim: TwoRegions['primary']): string[] {
  return sim.stats().recent.map((r) => r.requestId);
}

/** Metric points of one name, flattened: value, count and the dimensions. */
function metric(envelopes: readonly Envelope[], name: string): Record<string, string | number | undefined>[] {
  return metricPoints(envelopes, name).map((p) => ({ value: p.value, count: p.count, ...p.dimensions }));
}

describe('telemetry of a normal chat', () => {
  it('sends one dependency for the attempt, under the function request, with region, deployment and Azure request id', async () => {
    const result = await service().complete({ ...hello, requestId: 'req-normal', traceParent });
    const envelopes = await emitted();

    expect(ingestion.paths.every((p) => p === 'POST /v2.1/track')).toBe(true);
    const [dependency, ...others] = dependenciesOf(envelopes, 'req-normal');
    expect(others).toEqual([]);
    expect(dependency).toMatchObject({
      name: 'POST /openai/v1/chat/completions',
      type: 'Http',
      target: '127.0.0.1',
      data: `${regions.primary.url}/openai/v1/chat/completions`,
      resultCode: '200',
      success: true,
      properties: {
        region: 'eastus2',
        deployment: 'gpt-4o',
        model: 'gpt-4o',
        attempt: '1',
        outcome: 'success',
        status: '200',
        requestId: 'req-normal',
        upstreamRequestId: apimRequestIds(regions.primary).at(-1),
      },
      tags: { 'ai.operation.id': TRACE_ID, 'ai.operation.parentId': PARENT_ID },
    });
    expect(dependency?.properties).not.toHaveProperty('errorCode');
    expect(Number(dependency?.properties?.timeToFirstTokenMs)).toBeGreaterThanOrEqual(0);

    const usage = result.completion.usage;
    expect(metric(envelopes, 'chat.prompt_tokens')).toEqual([
      { value: usage?.prompt_tokens, count: 1, model: 'gpt-4o', region: 'eastus2' },
    ]);
    expect(metric(envelopes, 'chat.completion_tokens')).toEqual([
      { value: usage?.completion_tokens, count: 1, model: 'gpt-4o', region: 'eastus2' },
    ]);
    expect(metric(envelopes, 'chat.time_to_first_token')).toEqual([
      expect.objectContaining({ count: 1, model: 'gpt-4o', region: 'eastus2', streamed: 'false' }),
    ]);
    expect(metric(envelopes, 'chat.failovers')).toEqual([]);
    expect(metric(envelopes, 'chat.throttles')).toEqual([]);
    expect(events(envelopes)).toEqual([]);
  });

  it('counts the tokens of a streamed answer from its usage chunk, once the stream ends', async () => {
    const stream = await service().stream({ ...hello, requestId: 'req-stream' });
    const answer = await collect(stream.chunks);
    expect(answer.length).toBeGreaterThan(0);
    const envelopes = await emitted();

    expect(dependenciesOf(envelopes, 'req-stream')).toEqual([
      expect.objectContaining({ resultCode: '200', properties: expect.objectContaining({ region: 'eastus2' }) }),
    ]);
    const [completion] = metric(envelopes, 'chat.completion_tokens');
    expect(completion).toMatchObject({ count: 1, model: 'gpt-4o', region: 'eastus2' });
    expect(completion?.value).toBeGreaterThan(0);
    expect(metric(envelopes, 'chat.time_to_first_token')).toEqual([
      expect.objectContaining({ count: 1, region: 'eastus2', streamed: 'true' }),
    ]);
  });

  it.each([false, true])('counts the tool calls of an answer that makes them (streamed: %s)', async (streamed) => {
    const request = {
      messages: [{ role: 'user' as const, content: 'Use get_time and get_date' }],
      params: {
        tools: ['get_time', 'get_date'].map((name) => ({
          type: 'function' as const,
          function: { name, parameters: { type: 'object', properties: {} } },
        })),
      },
      requestId: `req-tools-${String(streamed)}`,
    };
    if (streamed) await collect((await service().stream(request)).chunks);
    else await service().complete(request);
    const envelopes = await emitted();
    expect(metric(envelopes, 'chat.tool_calls')).toEqual([{ value: 2, count: 1, model: 'gpt-4o', region: 'eastus2' }]);
  });

  it('sends no prompt, answer or key unless content logging is on', async () => {
    const result = await service().complete({ ...hello, requestId: 'req-private', traceParent });
    const sent = JSON.stringify(await emitted());

    expect(sent).toContain('req-private');
    expect(sent).not.toContain(hello.messages[0]?.content);
    expect(sent).not.toContain(result.completion.choices[0]?.message.content);
    expect(sent).not.toContain('simulator-key');
    expect(events(await emitted(), 'ChatContent')).toEqual([]);
  });

  it('sends the prompt and the answer in a ChatContent event when CHAT_LOG_CONTENT asks for it', async () => {
    const withContent = createTelemetry({ ...settings, logContent: true });
    const result = await service({}, withContent).complete({ ...hello, requestId: 'req-content', traceParent });
    await withContent.flush();

    const [content, ...others] = events(ingestion.envelopes, 'ChatContent');
    expect(others).toEqual([]);
    expect(content?.data.baseData.properties).toEqual({
      requestId: 'req-content',
      model: 'gpt-4o',
      region: 'eastus2',
      prompt: JSON.stringify(hello.messages),
      answer: result.completion.choices[0]?.message.content,
    });
    expect(content?.tags).toMatchObject({ 'ai.operation.id': TRACE_ID, 'ai.operation.parentId': PARENT_ID });
  });
});

describe('telemetry of a stream continued from another region', () => {
  it('sends a StreamContinued event with the parts, a dependency for each call, and the usage of both', async () => {
    regions.primary.setFault({ kind: 'reset-midstream', afterChunks: 5 });
    const secondaryBefore = regions.secondary.stats().completionTokens;
    const result = await service().stream({ ...hello, requestId: 'req-continued', traceParent });
    const answer = await collect(result.chunks);

    const envelopes = await emitted();
    const [continued, ...others] = events(envelopes, 'StreamContinued');
    expect(others).toEqual([]);
    const [first, second] = result.parts();
    expect(continued?.data.baseData.properties).toEqual({
      requestId: 'req-continued',
      model: 'gpt-4o',
      region: 'eastus2',
      outcome: 'completed',
      continuations: '1',
      parts: `eastus2:${first?.chars} chars reset; swedencentral:${second?.chars} chars finished`,
    });
    expect((first?.chars ?? 0) + (second?.chars ?? 0)).toBe(answer.length);
    expect(continued?.tags).toMatchObject({ 'ai.operation.id': TRACE_ID });
    expect(dependenciesOf(envelopes, 'req-continued').map((d) => d.properties?.['region'])).toEqual([
      'eastus2',
      'swedencentral',
    ]);
    const tokens = metric(envelopes, 'chat.completion_tokens');
    expect(tokens.reduce((sum, p) => sum + Number(p.value), 0)).toBe(
      regions.secondary.stats().completionTokens - secondaryBefore + 5,
    );
  });
});

describe('telemetry of a failover', () => {
  it('sends a failed dependency for the region that was down and a successful one for the region that answered', async () => {
    regions.primary.setFault({ kind: 'outage' });
    await service().complete({ ...hello, requestId: 'req-failover', traceParent });
    const envelopes = await emitted();

    const [down, served, ...others] = dependenciesOf(envelopes, 'req-failover');
    expect(others).toEqual([]);
    expect(down).toMatchObject({
      resultCode: '503',
      success: false,
      properties: {
        region: 'eastus2',
        attempt: '1',
        outcome: 'failover',
        status: '503',
        errorCode: 'region_unavailable',
        upstreamRequestId: apimRequestIds(regions.primary).at(-1),
      },
      tags: { 'ai.operation.id': TRACE_ID, 'ai.operation.parentId': PARENT_ID },
    });
    expect(served).toMatchObject({
      resultCode: '200',
      success: true,
      data: `${regions.secondary.url}/openai/v1/chat/completions`,
      properties: {
        region: 'swedencentral',
        attempt: '2',
        outcome: 'success',
        upstreamRequestId: apimRequestIds(regions.secondary).at(-1),
      },
      tags: { 'ai.operation.id': TRACE_ID, 'ai.operation.parentId': PARENT_ID },
    });
    expect(metric(envelopes, 'chat.failovers')).toEqual([
      { value: 1, count: 1, model: 'gpt-4o', region: 'eastus2', reason: 'failover' },
    ]);
    expect(metric(envelopes, 'chat.prompt_tokens')).toEqual([
      expect.objectContaining({ count: 1, model: 'gpt-4o', region: 'swedencentral' }),
    ]);
    expect(events(envelopes)).toEqual([]);
  });

  it('marks an attempt that sent no first byte in time as a timeout', async () => {
    regions.primary.setFault({ kind: 'latency', latencyMs: 10_000 });
    await service({ CHAT_ATTEMPT_TIMEOUT_MS: '200' }).complete({ ...hello, requestId: 'req-timeout' });
    const envelopes = await emitted();

    const [slow, served] = dependenciesOf(envelopes, 'req-timeout');
    expect(slow).toMatchObject({
      resultCode: '0',
      success: false,
      properties: { region: 'eastus2', outcome: 'timeout', status: 'timeout', errorCode: 'upstream_timeout' },
    });
    expect(slow?.properties).not.toHaveProperty('upstreamRequestId');
    expect(slow?.properties).not.toHaveProperty('timeToFirstTokenMs');
    // The time to first token of the answer includes the attempt that timed out.
    expect(Number(served?.properties?.timeToFirstTokenMs)).toBeGreaterThanOrEqual(200);
    expect(served).toMatchObject({ success: true, properties: { region: 'swedencentral' } });
    expect(metric(envelopes, 'chat.failovers')).toEqual([
      { value: 1, count: 1, model: 'gpt-4o', region: 'eastus2', reason: 'timeout' },
    ]);
  });

  it('sends an event and a breaker metric when a breaker opens, and again when it closes', async () => {
    const chat = service({ CHAT_BREAKER_FAILURES: '1' });
    regions.primary.setFault({ kind: 'outage' });
    await chat.complete({ ...hello, requestId: 'req-open' });
    let envelopes = await emitted();
    expect(events(envelopes).map((e) => [e.data.baseData.name, e.data.baseData.properties])).toEqual([
      ['RegionBreakerOpened', { region: 'eastus2', from: 'closed' }],
    ]);
    expect(metric(envelopes, 'chat.breaker_changes')).toEqual([
      { value: 1, count: 1, region: 'eastus2', from: 'closed', to: 'open' },
    ]);

    ingestion.clear();
    regions.primary.setFault({ kind: 'none' });
    regions.clock.advance(30_001);
    await chat.complete({ ...hello, requestId: 'req-probe' });
    envelopes = await emitted();
    expect(events(envelopes).map((e) => [e.data.baseData.name, e.data.baseData.properties])).toEqual([
      ['RegionBreakerClosed', { region: 'eastus2', from: 'half-open' }],
    ]);
    expect(metric(envelopes, 'chat.breaker_changes').sort((a, b) => String(a.to).localeCompare(String(b.to)))).toEqual([
      { value: 1, count: 1, region: 'eastus2', from: 'half-open', to: 'closed' },
      { value: 1, count: 1, region: 'eastus2', from: 'open', to: 'half-open' },
    ]);
    expect(dependenciesOf(envelopes, 'req-probe')).toEqual([
      expect.objectContaining({ success: true, properties: expect.objectContaining({ region: 'eastus2' }) }),
    ]);
  });
});

describe('telemetry of a throttle', () => {
  it('sends a throttled dependency with 429 and counts a throttle and a failover for that region', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    await service().complete({ ...hello, requestId: 'req-throttle', traceParent });
    const envelopes = await emitted();

    const [throttled, served, ...others] = dependenciesOf(envelopes, 'req-throttle');
    expect(others).toEqual([]);
    expect(throttled).toMatchObject({
      resultCode: '429',
      success: false,
      properties: {
        region: 'eastus2',
        attempt: '1',
        outcome: 'throttled',
        status: '429',
        errorCode: 'throttled',
        upstreamRequestId: apimRequestIds(regions.primary).at(-1),
      },
    });
    expect(served).toMatchObject({ success: true, properties: { region: 'swedencentral', attempt: '2' } });
    expect(metric(envelopes, 'chat.throttles')).toEqual([{ value: 1, count: 1, model: 'gpt-4o', region: 'eastus2' }]);
    expect(metric(envelopes, 'chat.failovers')).toEqual([
      { value: 1, count: 1, model: 'gpt-4o', region: 'eastus2', reason: 'throttled' },
    ]);
    // Throttling is not an outage: the breaker stays closed.
    expect(metric(envelopes, 'chat.breaker_changes')).toEqual([]);
    expect(events(envelopes)).toEqual([]);
  });
});

describe('telemetry of a total failure', () => {
  it('sends a failed dependency per region and an AllRegionsFailed event under the function request', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    await expect(service().complete({ ...hello, requestId: 'req-down', traceParent })).rejects.toMatchObject({
      code: 'all_regions_failed',
    });
    const envelopes = await emitted();

    expect(
      dependenciesOf(envelopes, 'req-down').map((d) => [d.properties?.region, d.resultCode, d.properties?.outcome]),
    ).toEqual([
      ['eastus2', '503', 'failover'],
      ['swedencentral', '503', 'failover'],
    ]);
    const [failed, ...others] = events(envelopes, 'AllRegionsFailed');
    expect(others).toEqual([]);
    expect(failed?.data.baseData.properties).toEqual({
      requestId: 'req-down',
      model: 'gpt-4o',
      code: 'all_regions_failed',
      regions: 'eastus2,swedencentral',
      attempts: 'eastus2:503 region_unavailable; swedencentral:503 region_unavailable',
      retryAfterMs: expect.stringMatching(/^\d+$/),
    });
    expect(failed?.tags).toMatchObject({ 'ai.operation.id': TRACE_ID, 'ai.operation.parentId': PARENT_ID });
    expect(metric(envelopes, 'chat.prompt_tokens')).toEqual([]);
  });

  it('sends AllRegionsFailed with all_regions_throttled when every region is throttled', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    regions.secondary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    await expect(service().complete({ ...hello, requestId: 'req-busy' })).rejects.toMatchObject({
      code: 'all_regions_throttled',
    });
    const envelopes = await emitted();

    expect(events(envelopes, 'AllRegionsFailed').map((e) => e.data.baseData.properties?.code)).toEqual([
      'all_regions_throttled',
    ]);
    const throttles = metric(envelopes, 'chat.throttles').map((m) => `${m.region}:${m.value}`);
    expect(throttles.sort()).toEqual(['eastus2:1', 'swedencentral:1']);
  });

  it('sends no AllRegionsFailed event for a request the model refused', async () => {
    await expect(
      service().complete({ ...hello, model: 'no-such-model', requestId: 'req-unknown' }),
    ).rejects.toMatchObject({ code: 'unknown_model' });
    expect(events(await emitted())).toEqual([]);
  });
});

describe('telemetry of load shedding', () => {
  it('counts each shed request by route, with an event when shedding starts and one with the count when it stops', async () => {
    const shedder = new LoadShedder({ settings: { lagMs: 100 }, observer: telemetry, sampler: () => ({ stop() {} }) });
    shedder.admit('held'); // one in flight: a lone request is never shed
    shedder.observe(150, 600_000);
    shedder.admit('chat-post');
    shedder.admit('chat-post');
    shedder.admit('openai-responses-post');
    shedder.observe(0, 600_000);
    const envelopes = await emitted();

    const shed = metric(envelopes, 'chat.shed_requests').map((m) => `${m.route}:${m.value}`);
    expect(shed.sort()).toEqual(['chat-post:2', 'openai-responses-post:1']);
    expect(events(envelopes).map((e) => [e.data.baseData.name, e.data.baseData.properties])).toEqual([
      ['InstanceOverloaded', { lagMs: '150', thresholdMs: '100', shed: '0' }],
      ['InstanceRecovered', { lagMs: '0', thresholdMs: '100', shed: '3' }],
    ]);
  });
});
