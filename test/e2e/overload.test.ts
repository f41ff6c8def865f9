/**
 * An overloaded instance through the local host and the real function files: every chat route
 * answers 503 `overloaded` with the retry headers and the one error body before it reads the body or calls a
 * region, the official openai client sees an APIError, and GET /api/health still answers and says so.
 * The lag is fed to the process's own load shedder by hand (its sampler stopped), and the test holds one
 * request in flight (a lone request is never shed): nothing here blocks the event loop or waits for time.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { healthSchema } from '../../shared/http/openapi';
import { productionServices } from '../../shared/production';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_SHED_LAG_MS: '100' });
  productionServices().overload.close();
});
afterAll(async () => {
  await backend.close();
});

/**
 * One request in flight (admitted while the instance was not shedding), then a smoothed lag of 150 ms
 * (threshold 100): shedding, with a Retry-After of 1 s * ln(150 / 50) plus jitter.
 */
beforeEach(() => {
  const { overload } = productionServices();
  recover();
  expect(overload.admit('held-by-the-test')).toBeUndefined();
  overload.observe(150, 600_000);
});
afterEach(() => {
  productionServices().overload.done();
});

function recover(): void {
  productionServices().overload.observe(0, 600_000);
}

function upstreamCalls(): number {
  return backend.primary.stats().total + backend.secondary.stats().total;
}

interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { diagnosis?: string } };
}

const chatRoutes = ['/api/chat', '/api/chat/stream', '/api/v1/chat/completions', '/api/v1/responses'];

describe('an overloaded instance', () => {
  it.each(chatRoutes)(
    'answers POST %s with 503 overloaded, the retry headers and the one error body, before reading the body or calling a region',
    async (route) => {
      const calls = upstreamCalls();
      const response = await fetch(`${backend.host.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY, 'x-request-id': 'shed-1' },
        body: '{"this is": not json',
      });
      expect(response.status).toBe(503);
      const retryAfterMs = Number(response.headers.get('retry-after-ms'));
      expect(retryAfterMs).toBeGreaterThanOrEqual(1_099); // 1 s * ln 3
      expect(retryAfterMs).toBeLessThanOrEqual(1_374); // plus at most a quarter
      expect(response.headers.get('retry-after')).toBe('2');
      expect(response.headers.get('x-should-retry')).toBe('true');
      expect(response.headers.get('x-request-id')).toBe('shed-1');
      expect(response.headers.get('access-control-expose-headers')).toContain('retry-after-ms');
      const body = (await response.json()) as ErrorBody;
      expect(body.error).toMatchObject({ code: 'overloaded', requestId: 'shed-1' });
      expect(body.error.message).toBe(
        'This backend instance is overloaded and turned the request away before doing any work. Retry after 2 s (Retry-After).',
      );
      expect(body.error.details?.diagnosis).toMatch(/Event-loop lag 150 ms .* CHAT_SHED_LAG_MS=100/);
      expect(upstreamCalls()).toBe(calls);
    },
  );

  it('gives the official openai client an APIError with status 503, code overloaded and the request id', async () => {
    const calls = upstreamCalls();
    const error: unknown = await backend.openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .then(
        () => expect.fail('expected a 503'),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(503);
    expect(apiError.code).toBe('overloaded');
    expect(apiError.message).toMatch(/^503 This backend instance is overloaded/);
    expect(apiError.requestID).toEqual(expect.any(String));
    expect(apiError.error).toMatchObject({ requestId: apiError.requestID });
    expect(Number(apiError.headers?.get('retry-after-ms'))).toBeGreaterThanOrEqual(1_099);

    const responses: unknown = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hi' }).then(
      () => expect.fail('expected a 503'),
      (e: unknown) => e,
    );
    expect(responses).toMatchObject({ status: 503, code: 'overloaded' });
    expect(upstreamCalls()).toBe(calls);
  });

  it('still answers GET /api/health, with 200 (one busy instance must not take the stamp out) and the shedding state', async () => {
    const shedBefore = await shedCount();
    await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const response = await fetch(`${backend.host.url}/api/health`);
    expect(response.status).toBe(200);
    const body: unknown = await response.json();
    expect(healthSchema.safeParse(body).error).toBeUndefined();
    expect(body).toMatchObject({
      status: 'degraded',
      overload: { state: 'shedding', lagMs: 150, thresholdMs: 100, inFlight: 1, shed: shedBefore + 1 },
    });
  });

  it('admits chats again once the lag is back under half the threshold', async () => {
    recover();
    const completion = await backend.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
    const health = (await (await fetch(`${backend.host.url}/api/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: 'ok',
      overload: { state: 'admitting', lagMs: 0, thresholdMs: 100, inFlight: 1 },
    });
  });
});

async function shedCount(): Promise<number> {
  const health = (await (await fetch(`${backend.host.url}/api/health`)).json()) as { overload: { shed: number } };
  return health.overload.shed;
}
