/** CHAT_AUTH_LEVEL=anonymous: chat endpoints without a function key, for apps behind App Service auth or APIM. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, chatAuthLevel } from '../../shared/config';
import { startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ CHAT_AUTH_LEVEL: 'anonymous' });
});
afterAll(async () => {
  await backend.close();
});

describe('CHAT_AUTH_LEVEL=anonymous', () => {
  it('registers every chat endpoint as anonymous', () => {
    const chat = backend.host.functions.filter((f) => /\/api\/(chat|v1)/.test(f.route));
    expect(chat.map((f) => f.name).sort()).toEqual([
      'chat-post',
      'chat-stream-post',
      'openai-chat-completions-post',
      'openai-models-get',
      'openai-responses-post',
    ]);
    expect(chat.every((f) => f.authLevel === 'anonymous')).toBe(true);
  });

  it('answers a chat without a function key', async () => {
    const response = await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ message: { role: 'assistant' } });
  });
});

describe('chatAuthLevel', () => {
  it.each([
    [{}, 'function'],
    [{ CHAT_AUTH_LEVEL: 'function' }, 'function'],
    [{ CHAT_AUTH_LEVEL: ' anonymous ' }, 'anonymous'],
  ])('reads %j as %s', (env, level) => {
    expect(chatAuthLevel(env)).toBe(level);
  });

  it('rejects any other level with an error naming the setting', () => {
    expect(() => chatAuthLevel({ CHAT_AUTH_LEVEL: 'admin' })).toThrow(ConfigError);
    expect(() => chatAuthLevel({ CHAT_AUTH_LEVEL: 'admin' })).toThrow(/CHAT_AUTH_LEVEL must be function or anonymous/);
  });
});
