import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatError } from '../../shared/errors';
import { rejection } from './rejection';
import { collect, hello, startTwoRegions, type TwoRegions } from './two-regions';

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
});
afterEach(async () => {
  await regions.close();
});

describe('failover between two regions', () => {
  it('serves from the primary when it is healthy', async () => {
    const chat = regions.service();
    const result = await chat.complete({ ...hello, requestId: 'r1' });
    expect(result.region).toBe('eastus2');
    expect(result.attempts).toEqual([expect.objectContaining({ region: 'eastus2', status: 200 })]);
    expect(result.completion.choices[0]?.message.content).toBeTruthy();
  });

  it('fails over at once when the primary refuses connections', async () => {
    regions.primary.setFault({ kind: 'outage', mode: 'refuse' });
    const chat = regions.service();
    const result = await chat.complete({ ...hello, requestId: 'r2' });
    expect(result.region).toBe('swedencentral');
    expect(result.attempts.map((a) => [a.region, a.status])).toEqual([
      ['eastus2', 'connection-error'],
      ['swedencentral', 200],
    ]);
  });

  it('fails over when the primary answers 503, and its breaker opens after consecutive failures', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const chat = regions.service();
    for (const id of ['a', 'b'])
      expect((await chat.complete({ ...hello, requestId: id })).region).toBe('swedencentral');
    expect(chat.health.snapshot()[0]).toMatchObject({ name: 'eastus2', state: 'open' });

    // While open, the primary is skipped without a call.
    const before = regions.primary.stats().total;
    const skipped = await chat.complete({ ...hello, requestId: 'c' });
    expect(skipped.attempts[0]).toMatchObject({ region: 'eastus2', status: 'skipped-open' });
    expect(regions.primary.stats().total).toBe(before);
  });

  it('lets one probe through after the cool-down and closes the breaker when the primary is back', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const chat = regions.service();
    await chat.complete({ ...hello, requestId: 'a' });
    await chat.complete({ ...hello, requestId: 'b' });
    regions.primary.setFault({ kind: 'none' });
    regions.clock.advance(30_000);
    const probe = await chat.complete({ ...hello, requestId: 'probe' });
    expect(probe.region).toBe('eastus2');
    expect(chat.health.snapshot()[0]).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('skips a throttled primary until its retry-after passes, then uses it again', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 20_000 });
    const chat = regions.service();
    const first = await chat.complete({ ...hello, requestId: 't1' });
    expect(first.region).toBe('swedencentral');
    expect(first.attempts[0]).toMatchObject({ region: 'eastus2', status: 429, code: 'throttled' });

    regions.primary.setFault({ kind: 'none' });
    regions.clock.advance(19_000);
    const during = await chat.complete({ ...hello, requestId: 't2' });
    expect(during.attempts[0]).toMatchObject({ region: 'eastus2', status: 'skipped-throttled' });
    expect(during.region).toBe('swedencentral');

    regions.clock.advance(1_000);
    expect((await chat.complete({ ...hello, requestId: 't3' })).region).toBe('eastus2');
    // Throttling is not an outage: the breaker never opened.
    expect(chat.health.snapshot()[0]?.state).toBe('closed');
  });

  it('answers 503 with Retry-After and every attempt when both regions are down', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'error500' });
    const chat = regions.service();
    const error = await rejection(chat.complete({ ...hello, requestId: 'down' }));
    expect(error.code).toBe('all_regions_failed');
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error.requestId).toBe('down');
    expect(error.attempts?.map((a) => [a.region, a.status])).toEqual([
      ['eastus2', 503],
      ['swedencentral', 500],
    ]);
  });

  it('answers 429 with the smallest window when both regions are throttled', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 40_000 });
    regions.secondary.setFault({ kind: 'throttle', retryAfterMs: 25_000 });
    const chat = regions.service();
    const error = await rejection(chat.complete({ ...hello, requestId: 'busy' }));
    expect(error.code).toBe('all_regions_throttled');
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(25_000);
    expect(regions.sleeps).toEqual([]);
  });

  it('waits for a throttled region when the wait is short and no region can serve', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 1_500 });
    regions.secondary.setFault({ kind: 'outage' });
    const waited: number[] = [];
    const chat = regions.service(
      {},
      {
        // The throttle lifts while the backend waits (the manual clock moves instead of sleeping).
        sleep: (ms) => {
          waited.push(ms);
          regions.clock.advance(ms);
          regions.primary.setFault({ kind: 'none' });
          return Promise.resolve();
        },
      },
    );
    const result = await chat.complete({ ...hello, requestId: 'wait' });
    expect(waited).toEqual([1_500]);
    expect(result.region).toBe('eastus2');
    expect(result.attempts.map((a) => [a.region, a.status])).toEqual([
      ['eastus2', 429],
      ['swedencentral', 503],
      ['eastus2', 200],
    ]);
  });

  it('does not wait when the throttle window is longer than the wait limit', async () => {
    regions.primary.setFault({ kind: 'throttle', retryAfterMs: 60_000 });
    regions.secondary.setFault({ kind: 'outage' });
    const chat = regions.service();
    const error = await rejection(chat.complete({ ...hello, requestId: 'nowait' }));
    expect(regions.sleeps).toEqual([]);
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });

  it('does not fail over on a content filter or a missing deployment', async () => {
    const chat = regions.service();
    const filtered = await rejection(
      chat.complete({ messages: [{ role: 'user', content: 'please [[filter-prompt]]' }], requestId: 'f' }),
    );
    expect(filtered.code).toBe('content_filtered');
    expect(filtered.attempts).toHaveLength(1);
    expect(regions.secondary.stats().total).toBe(0);

    const misconfigured = regions.service({
      CHAT_REGIONS: JSON.stringify([
        { name: 'eastus2', endpoint: `${regions.primary.url}/`, deployments: { 'gpt-4o': 'gpt-4o-typo' } },
        { name: 'swedencentral', endpoint: `${regions.secondary.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } },
      ]),
    });
    const missing = await rejection(misconfigured.complete({ ...hello, requestId: 'd' }));
    expect(missing.code).toBe('deployment_not_found');
    expect(missing.diagnosis).toContain('gpt-4o-typo');
  });

  it('fails over when the primary sends no first byte within the attempt limit', async () => {
    regions.primary.setFault({ kind: 'latency', latencyMs: 60_000 });
    const chat = regions.service({ CHAT_ATTEMPT_TIMEOUT_MS: '200' });
    const result = await chat.complete({ ...hello, requestId: 'slow' });
    expect(result.region).toBe('swedencentral');
    expect(result.attempts[0]).toMatchObject({ region: 'eastus2', status: 'timeout', code: 'upstream_timeout' });
  });

  it('serves every concurrent request during an outage', async () => {
    regions.primary.setFault({ kind: 'outage', mode: 'refuse' });
    const chat = regions.service();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => chat.complete({ ...hello, requestId: `c${i}` })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  /** A chat service whose upstream fetches are seen: `called()` resolves with the signal of the next one. */
  function watchedService() {
    const signals: AbortSignal[] = [];
    const waiting = new Set<() => void>();
    const chat = regions.service(
      {},
      {
        fetch: (input, init) => {
          if (init?.signal) signals.push(init.signal);
          for (const wake of waiting) wake();
          return fetch(input, init);
        },
      },
    );
    const called = (count: number) =>
      new Promise<AbortSignal>((resolve) => {
        const check = () => {
          const signal = signals[count];
          if (signal === undefined) return;
          waiting.delete(check);
          resolve(signal);
        };
        waiting.add(check);
        check();
      });
    return { chat, signals, called };
  }

  it('stops a whole answer when its client leaves: the upstream call aborted, no other region, no breaker failure', async () => {
    regions.primary.setFault({ kind: 'latency', latencyMs: 10_000 });
    const { chat, signals, called } = watchedService();
    const client = new AbortController();
    const answer = chat.complete({ ...hello, requestId: 'left', signal: client.signal });
    const upstream = await called(0);
    client.abort();
    const error = await rejection(answer);
    expect(error).toMatchObject({ code: 'client_closed', status: 499, requestId: 'left' });
    expect(upstream.aborted).toBe(true);
    expect(signals).toHaveLength(1);
    expect(regions.secondary.stats().total).toBe(0);
    expect(chat.health.snapshot()[0]).toMatchObject({ name: 'eastus2', state: 'closed', consecutiveFailures: 0 });
    expect(chat.health.snapshot()[0]?.lastError).toBeUndefined();
  });

  it('hands back a probe whose client left: the breaker stays open, due to probe again at once', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const { chat, called } = watchedService();
    await chat.complete({ ...hello, requestId: 'a' });
    await chat.complete({ ...hello, requestId: 'b' });
    regions.primary.setFault({ kind: 'latency', latencyMs: 10_000 });
    regions.clock.advance(30_000);
    const client = new AbortController();
    const probe = chat.complete({ ...hello, requestId: 'probe', signal: client.signal });
    // Two calls to the primary failed, one to the secondary served each; the probe is the fifth.
    await called(4);
    expect(chat.health.snapshot()[0]).toMatchObject({ state: 'half-open' });
    client.abort();
    expect((await rejection(probe)).code).toBe('client_closed');
    // Open again with its cool-down over: ready, so the next call is the trial.
    expect(chat.health.status('eastus2')).toEqual({ breaker: 'ready' });
    expect(chat.health.snapshot()[0]).toMatchObject({ state: 'half-open', trial: 'ready' });

    regions.primary.setFault({ kind: 'none' });
    expect((await chat.complete({ ...hello, requestId: 'next' })).region).toBe('eastus2');
    expect(chat.health.snapshot()[0]).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('reports an unknown model as a 400 listing the models there are', async () => {
    const error = await rejection(regions.service().complete({ ...hello, model: 'gpt-9', requestId: 'm' }));
    expect(error.code).toBe('unknown_model');
    expect(error.message).toContain('gpt-4o');
  });

  it('explains a region endpoint with a wrong path (404 Resource not found) and fails over from it', async () => {
    const misconfigured = JSON.stringify([
      { name: 'eastus2', endpoint: `${regions.primary.url}/api/`, deployments: { 'gpt-4o': 'gpt-4o' } },
      { name: 'swedencentral', endpoint: `${regions.secondary.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } },
    ]);
    const chat = regions.service({ CHAT_REGIONS: misconfigured });
    const served = await chat.complete({ ...hello, requestId: 'path' });
    expect(served.region).toBe('swedencentral');
    expect(served.attempts[0]).toMatchObject({ region: 'eastus2', status: 404, code: 'endpoint_not_found' });

    const onlyWrong = JSON.stringify([
      { name: 'eastus2', endpoint: `${regions.primary.url}/api/`, deployments: { 'gpt-4o': 'gpt-4o' } },
    ]);
    const error = await rejection(regions.service({ CHAT_REGIONS: onlyWrong }).complete({ ...hello, requestId: 'p2' }));
    expect(error.code).toBe('endpoint_not_found');
    expect(error.status).toBe(502);
    expect(error.diagnosis).toContain(`${regions.primary.url}/api/`);
    expect(error.diagnosis).toContain('https://RESOURCE.openai.azure.com/openai/v1/');
  });

  it('fails over when a region endpoint has nothing listening', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const chat = regions.service({
      CHAT_REGIONS: JSON.stringify([
        { name: 'eastus2', endpoint: `http://127.0.0.1:${closedPort}/`, deployments: { 'gpt-4o': 'gpt-4o' } },
        { name: 'swedencentral', endpoint: `${regions.secondary.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } },
      ]),
    });
    expect((await chat.complete({ ...hello, requestId: 'x' })).region).toBe('swedencentral');
  });
});

describe('streaming failover', () => {
  it('streams the whole answer from the primary', async () => {
    const chat = regions.service();
    const stream = await chat.stream({ ...hello, requestId: 's1' });
    expect(stream.region).toBe('eastus2');
    const direct = await chat.complete({ ...hello, requestId: 's1b' });
    expect(await collect(stream.chunks)).toBe(direct.completion.choices[0]?.message.content);
  });

  it('fails over before the first byte when the primary is down', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const stream = await regions.service().stream({ ...hello, requestId: 's2' });
    expect(stream.region).toBe('swedencentral');
    expect((await collect(stream.chunks)).length).toBeGreaterThan(0);
  });

  it('ends with stream_interrupted and no duplicated text when the primary drops mid-stream and continuation is off', async () => {
    regions.primary.setFault({ kind: 'reset-midstream' });
    const chat = regions.service({ CHAT_MAX_CONTINUATIONS: '0' });
    const stream = await chat.stream({ ...hello, requestId: 's3' });
    expect(stream.region).toBe('eastus2');
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream.chunks) received.push(chunk.choices[0]?.delta.content ?? '');
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).code).toBe('stream_interrupted');
    // Only what the primary sent, once, and nothing from the secondary spliced in.
    expect(regions.secondary.stats().total).toBe(0);
    const full =
      (await regions.service().complete({ ...hello, requestId: 'ref' })).completion.choices[0]?.message.content ?? '';
    expect(full.startsWith(received.join(''))).toBe(true);
    expect(received.join('').length).toBeLessThan(full.length);
  });

  it('aborts the upstream stream when the client goes away mid-answer', async () => {
    // The upstream fetch's signal, as the openai client hands it to fetch.
    const upstreamSignals: AbortSignal[] = [];
    const chat = regions.service(
      {},
      {
        fetch: (input, init) => {
          if (init?.signal) upstreamSignals.push(init.signal);
          return fetch(input, init);
        },
      },
    );
    const client = new AbortController();
    const stream = await chat.stream({ ...hello, requestId: 's4', signal: client.signal });
    const iterator = stream.chunks[Symbol.asyncIterator]();
    await iterator.next();
    expect(upstreamSignals.map((signal) => signal.aborted)).toEqual([false]);
    // Only the client's signal: the consumer has not stopped reading.
    client.abort();
    expect(upstreamSignals[0]?.aborted).toBe(true);
  });
});
