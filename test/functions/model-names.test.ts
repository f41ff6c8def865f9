/**
 * Model names come from the client and are looked up in configuration: only models a region
 * really deploys count. Names that exist on every plain object (Object.prototype) must not pass as
 * known models on any chat endpoint: the client gets unknown_model and no region is called.
 */
import type { HttpResponseInit } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatPostHandler } from '../../functions/chat-post';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { createOpenAIChatHandler } from '../../functions/openai-chat-completions-post';
import type { ChatService } from '../../shared/chat-service';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';
import { invocation, jsonRequest } from './http';

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
});
afterEach(async () => {
  await regions.close();
});

const PROTOTYPE_NAMES = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];
const messages = [{ role: 'user', content: 'Hello' }];

type Call = (chat: ChatService, model: string) => Promise<HttpResponseInit>;

const endpoints: readonly (readonly [string, Call])[] = [
  [
    'POST /api/chat',
    (chat, model) =>
      createChatPostHandler({ chat })(jsonRequest('/api/chat', { messages, context: { model } }), invocation()),
  ],
  [
    'POST /api/chat/stream',
    (chat, model) =>
      createChatStreamHandler({ chat })(
        jsonRequest('/api/chat/stream', { messages, context: { model } }),
        invocation(),
      ),
  ],
  [
    'POST /api/v1/chat/completions',
    (chat, model) =>
      createOpenAIChatHandler({ chat })(jsonRequest('/api/v1/chat/completions', { model, messages }), invocation()),
  ],
  [
    'POST /api/v1/chat/completions (stream: true)',
    (chat, model) =>
      createOpenAIChatHandler({ chat })(
        jsonRequest('/api/v1/chat/completions', { model, messages, stream: true }),
        invocation(),
      ),
  ],
];

describe.each(endpoints)('%s', (_name, call) => {
  it.each(PROTOTYPE_NAMES)('answers unknown_model for "%s" without calling a region', async (model) => {
    const chat = regions.service();
    const response = await call(chat, model);
    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({
      error: { code: 'unknown_model', message: expect.stringContaining('Available: gpt-4o, gpt-4o-mini') },
    });
    expect(regions.primary.stats().total + regions.secondary.stats().total).toBe(0);
    expect(chat.health.snapshot().every((r) => r.lastError === undefined)).toBe(true);
  });

  it('still serves a model the regions deploy', async () => {
    const response = await call(regions.service(), 'gpt-4o-mini');
    expect(response.status).toBe(200);
  });
});
