/**
 * Property-based fuzz test: thousands of random and hostile requests at every endpoint through the
 * real handlers (real HttpRequest objects; upstream calls go to two simulated regions on loopback).
 * Every answer must be a 2xx or a 4xx with the one error body, read to its end within a time limit:
 * never a 5xx, a hang or a crash. FUZZ_RUNS sets the runs per endpoint (default 2500); FUZZ_SEED and
 * FUZZ_TRACE help to replay and locate a failure.
 */
import { appendFileSync } from 'node:fs';
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { createHealthDeepHandler } from '../../functions/health-deep-get';
import { createHealthHandler } from '../../functions/health-get';
import { createOpenAIChatHandler } from '../../functions/openai-chat-completions-post';
import { createOpenAIModelsHandler } from '../../functions/openai-models-get';
import { createOpenAPIHandler } from '../../functions/openapi-get';
import { createOpenAIResponsesHandler } from '../../functions/openai-responses-post';
import type { ChatService } from '../../shared/chat-service';
import { createCredentials } from '../../shared/credentials';
import { bodyText, invocation } from '../functions/http';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { describeRequest, fuzzHeaders, fuzzRequest, type FuzzRequest } from './arbitraries';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
/** FUZZ_SEED replays a failing run (fast-check prints the seed with the counterexample). */
const SEED = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) };
/** Longest any one request may take, body included, ms: far above a normal answer, far below a hang. */
const ANSWER_LIMIT_MS = 5_000;

type Handler = (request: HttpRequest, context: ReturnType<typeof invocation>) => Promise<HttpResponseInit>;

let regions: TwoRegions;
let chat: ChatService;
const counts: Record<string, number> = {};

beforeAll(async () => {
  // No rate limit in the way: thousands of valid requests in a few seconds are the point here.
  const unlimited = { rpm: 1e9, tpm: 1e12 };
  regions = await startTwoRegions({ primary: unlimited, secondary: unlimited });
  chat = regions.service();
});
afterAll(async () => {
  await regions.close();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.info(
    `Fuzz: ${total} requests (${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
});

function withLimit<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ANSWER_LIMIT_MS} ms`)), ANSWER_LIMIT_MS);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** Sends one request and checks the answer; returns its status. */
async function exchange(handler: Handler, request: HttpRequest, name: string): Promise<number> {
  counts[name] = (counts[name] ?? 0) + 1;
  const response = await withLimit(
    (async () => {
      const answer = await handler(request, invocation(name));
      return { answer, text: await bodyText(answer) };
    })(),
    name,
  );
  const status = response.answer.status ?? 200;
  if (status >= 500 || status < 200) throw new Error(`${name} answered ${status}: ${response.text.slice(0, 500)}`);
  if (status >= 400) {
    const error = (JSON.parse(response.text) as { error?: { code?: unknown; message?: unknown; requestId?: unknown } })
      .error;
    expect(typeof error?.code).toBe('string');
    expect(typeof error?.message).toBe('string');
    expect(typeof error?.requestId).toBe('string');
    expect(response.text.length).toBeLessThan(20_000);
  } else if (isStream(response.answer) && /^(event: error|data: \{"error"|\{"error")/m.test(response.text)) {
    // A stream that started must not end in an error frame for any input.
    throw new Error(`${name} streamed an error: ${response.text.slice(-500)}`);
  }
  return status;
}

/**
 * FUZZ_TRACE=<file> writes each request before it is sent: a handler (or the in-process simulator)
 * that blocks the event loop stops every timer, so the last line is the only clue to a hang.
 */
function trace(input: FuzzRequest): void {
  const file = process.env.FUZZ_TRACE;
  if (file) appendFileSync(file, `${describeRequest(input)}\n`);
}

function isStream(response: HttpResponseInit): boolean {
  const type = (response.headers as Record<string, string> | undefined)?.['content-type'] ?? '';
  return /event-stream|ndjson/.test(type);
}

function post(path: string, input: FuzzRequest): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071${path}`,
    headers: input.headers,
    body: input.body,
  });
}

function get(path: string, headers: Record<string, string>): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `http://localhost:7071${path}`, headers });
}

function assertNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
}

describe('fuzzing every endpoint with random and hostile requests', () => {
  it.each([
    ['POST /api/chat', '/api/chat', 'chat' as const, () => createChatPostHandler({ chat })],
    ['POST /api/chat/stream', '/api/chat/stream', 'chat' as const, () => createChatStreamHandler({ chat })],
    [
      'POST /api/v1/chat/completions',
      '/api/v1/chat/completions',
      'openai' as const,
      () => createOpenAIChatHandler({ chat }),
    ],
    ['POST /api/v1/responses', '/api/v1/responses', 'responses' as const, () => createOpenAIResponsesHandler({ chat })],
  ])('%s never answers a 5xx, hangs or crashes', async (name, path, kind, build) => {
    const handler = build();
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequest(kind), async (input) => {
        trace(input);
        statuses.add(await exchange(handler, post(path, input), name));
      }),
      { numRuns: RUNS, ...SEED },
    );
    assertNoPollution();
    // The generators reach both sides: answers and every kind of rejection.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 413, 415]));
    // Nothing hostile reached a region as a request it could not handle.
    for (const sim of [regions.primary, regions.secondary])
      expect(Object.keys(sim.stats().byStatus).filter((s) => Number(s) >= 500 || s === '0')).toEqual([]);
    expect(chat.health.snapshot().every((r) => r.state === 'closed')).toBe(true);
  });

  it.each([
    ['GET /api/v1/models', '/api/v1/models', () => createOpenAIModelsHandler({ chat }), RUNS],
    ['GET /api/health', '/api/health', () => createHealthHandler({ chat }), RUNS],
    ['GET /api/openapi.json', '/api/openapi.json', () => createOpenAPIHandler(), RUNS],
    [
      'GET /api/health/deep',
      '/api/health/deep',
      () => createHealthDeepHandler({ config: chat.config, credentials: createCredentials(chat.config) }),
      // Each call makes real checks (two connections, four completions): fewer runs, same property.
      Math.ceil(RUNS / 10),
    ],
  ])('%s answers 200 whatever the headers', async (name, path, build, runs) => {
    const handler = build();
    await fc.assert(
      fc.asyncProperty(fuzzHeaders, async (headers) => {
        expect(await exchange(handler, get(path, headers), name)).toBe(200);
      }),
      { numRuns: runs, ...SEED },
    );
  });
});
