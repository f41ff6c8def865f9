import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { createHealthHandler } from '../../functions/health-get';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { bodyText, header, invocation, jsonRequest } from './http';

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
});
afterEach(async () => {
  await regions.close();
});

const question = { messages: [{ role: 'user', content: 'What is the capital of France?' }] };

describe('POST /api/chat', () => {
  it('answers in the AI Chat Protocol shape with usage, region and attempts in context', async () => {
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat', { ...question, sessionState: { id: 42 } }), invocation());
    expect(response.status).toBe(200);
    expect(header(response, 'x-chat-region')).toBe('eastus2');
    expect(header(response, 'x-chat-attempts')).toBe('1');
    // Cross-origin front-ends may read them.
    expect(header(response, 'access-control-expose-headers')).toContain('x-chat-region');
    const body = response.jsonBody as {
      message: { role: string; content: string };
      context: Record<string, unknown>;
      sessionState: unknown;
    };
    expect(body.message.role).toBe('assistant');
    expect(body.message.content.length).toBeGreaterThan(0);
    expect(body.sessionState).toEqual({ id: 42 });
    expect(body.context).toMatchObject({ model: 'gpt-4o', region: 'eastus2', attempts: 1, finishReason: 'stop' });
    expect(body.context.usage).toMatchObject({
      promptTokens: expect.any(Number),
      completionTokens: expect.any(Number),
    });
  });

  it('carries the caller request id to the upstream call and back', async () => {
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat', question, { 'x-request-id': 'trace-123' }), invocation());
    expect(header(response, 'x-request-id')).toBe('trace-123');
    expect(regions.primary.stats().recent.at(-1)?.clientRequestId).toBe('trace-123');
  });

  it('fails over and says so in the headers', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat', question), invocation());
    expect(response.status).toBe(200);
    expect(header(response, 'x-chat-region')).toBe('swedencentral');
    expect(header(response, 'x-chat-attempts')).toBe('2');
  });

  it.each([
    ['not JSON', '{"messages": [', {}, 400, 'invalid_json'],
    ['an empty body', '', {}, 400, 'invalid_json'],
    ['no messages', { messages: [] }, {}, 400, 'invalid_request'],
    ['an unknown role', { messages: [{ role: 'wizard', content: 'hi' }] }, {}, 400, 'invalid_request'],
    ['an unknown field', { ...question, temperature: 3 }, {}, 400, 'invalid_request'],
    ['a text body', 'hello', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ['an unknown model', { ...question, context: { model: 'gpt-9' } }, {}, 400, 'unknown_model'],
  ])('rejects %s with a clear 4xx', async (_name, body, headers, status, code) => {
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat', body, headers), invocation());
    expect(response.status).toBe(status);
    const error = (response.jsonBody as { error: { code: string; message: string; requestId: string } }).error;
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    expect(error.requestId).toBeTruthy();
    expect(regions.primary.stats().total).toBe(0);
  });

  it('rejects a body over 256 KB with 413', async () => {
    const handler = createChatPostHandler({ chat: regions.service() });
    const big = { messages: Array.from({ length: 40 }, () => ({ role: 'user', content: 'x'.repeat(8_000) })) };
    const response = await handler(jsonRequest('/api/chat', big), invocation());
    expect(response.status).toBe(413);
  });

  it('names the field that is wrong', async () => {
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(
      jsonRequest('/api/chat', { messages: [{ role: 'user', content: 7 }] }),
      invocation(),
    );
    const error = (response.jsonBody as { error: { details: { fields: { path: string }[] } } }).error;
    expect(error.details.fields[0]?.path).toBe('messages.0.content');
  });

  it('answers 503 with Retry-After and the error body when every region is down', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const handler = createChatPostHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat', question, { 'x-request-id': 'r-503' }), invocation());
    expect(response.status).toBe(503);
    expect(Number(header(response, 'retry-after'))).toBeGreaterThanOrEqual(1);
    expect(response.jsonBody).toMatchObject({ error: { code: 'all_regions_failed', requestId: 'r-503' } });
  });

  it('keeps the operator diagnosis out of the body when diagnostics are off (in Azure)', async () => {
    regions.primary.setFault({ kind: 'outage' });
    regions.secondary.setFault({ kind: 'outage' });
    const handler = createChatPostHandler({ chat: regions.service({ CHAT_EXPOSE_DIAGNOSTICS: 'false' }) });
    const response = await handler(jsonRequest('/api/chat', question), invocation());
    const text = JSON.stringify(response.jsonBody);
    expect(text).not.toContain('diagnosis');
    expect(text).not.toContain('127.0.0.1');
  });
});

describe('POST /api/chat/stream', () => {
  it('streams JSON lines with deltas, then a closing line with context', async () => {
    const handler = createChatStreamHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat/stream', question), invocation());
    expect(response.status).toBe(200);
    expect(header(response, 'content-type')).toContain('application/x-ndjson');
    expect(header(response, 'cache-control')).toBe('no-cache');
    const lines = (await bodyText(response))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { delta: { content?: string }; context?: Record<string, unknown> });
    expect(lines.length).toBeGreaterThan(3);
    const text = lines.map((l) => l.delta.content ?? '').join('');
    const full = await createChatPostHandler({ chat: regions.service() })(
      jsonRequest('/api/chat', question),
      invocation(),
    );
    expect(text).toBe((full.jsonBody as { message: { content: string } }).message.content);
    expect(lines.at(-1)?.context).toMatchObject({ region: 'eastus2', finishReason: 'stop', usage: expect.any(Object) });
  });

  it('speaks server-sent events when the client asks for them', async () => {
    const handler = createChatStreamHandler({ chat: regions.service() });
    const response = await handler(
      jsonRequest('/api/chat/stream', question, { accept: 'text/event-stream' }),
      invocation(),
    );
    expect(header(response, 'content-type')).toContain('text/event-stream');
    const text = await bodyText(response);
    expect(text.startsWith('data: {')).toBe(true);
    expect(
      text
        .split('\n\n')
        .filter(Boolean)
        .every((event) => event.startsWith('data: ')),
    ).toBe(true);
  });

  it('ends the stream with an error line when the region drops mid-answer and continuation is off', async () => {
    regions.primary.setFault({ kind: 'reset-midstream' });
    const handler = createChatStreamHandler({ chat: regions.service({ CHAT_MAX_CONTINUATIONS: '0' }) });
    const response = await handler(jsonRequest('/api/chat/stream', question), invocation());
    expect(response.status).toBe(200);
    const lines = (await bodyText(response)).trim().split('\n');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ error: { code: 'stream_interrupted' } });
    expect(regions.secondary.stats().total).toBe(0);
  });

  it('answers a bad request with a JSON error, not a stream', async () => {
    const handler = createChatStreamHandler({ chat: regions.service() });
    const response = await handler(jsonRequest('/api/chat/stream', { messages: 'hi' }), invocation());
    expect(response.status).toBe(400);
  });
});

describe('GET /api/health', () => {
  it('lists every region with its state, a fresh instance checking each with one completion', async () => {
    const handler = createHealthHandler({ chat: regions.service() });
    const response = await handler();
    expect(response.status).toBe(200);
    const body = response.jsonBody as { regions: { name: string; state: string }[] };
    expect(body.regions.map((r) => [r.name, r.state])).toEqual([
      ['eastus2', 'closed'],
      ['swedencentral', 'closed'],
    ]);
    expect(regions.primary.stats().total).toBe(1);
  });

  it('shows an open breaker and the last error after an outage', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const chat = regions.service();
    const post = createChatPostHandler({ chat });
    await post(jsonRequest('/api/chat', question), invocation());
    await post(jsonRequest('/api/chat', question), invocation());
    const response = await createHealthHandler({ chat })();
    const body = response.jsonBody as { regions: { name: string; state: string; lastError?: { code: string } }[] };
    expect(body.regions[0]).toMatchObject({
      name: 'eastus2',
      state: 'open',
      lastError: { code: 'region_unavailable' },
    });
  });
});
