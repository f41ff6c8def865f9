/**
 * Attack: the daily token quota bypassed by hanging up. Usage was counted only when the region's usage chunk came,
 * so a stream dropped before its last chunk counted nothing, though Azure bills its prompt and what it streamed.
 * With CHAT_USER_TOKENS_PER_DAY=1000, a 3,000-word prompt dropped after the first chunk left the next chat answered
 * 200. Now the request's estimate is reserved before the model call and settled however it ends: the next chat is
 * refused. The real openai SDK streams the chat; breaking out of its iterator closes the connection.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chat, useQuotaStack } from './quota-stack';

const stack = useQuotaStack(
  { CHAT_USER_TOKENS_PER_DAY: '1000', CHAT_USER_REQUESTS_PER_MINUTE: '1000' },
  // A token every 20 ms: the answer is still streaming when the client leaves.
  { latency: { firstTokenMs: 0, perTokenMs: 20 } },
);

const words = (count: number) =>
  Array.from({ length: count }, (_, i) => ['tell', 'me', 'about', 'the', 'sea', 'and'][i % 6]).join(' ');

describe('a stream dropped after its first chunk', () => {
  it('counts against the daily quota: the next chat is refused 429 user_quota_exceeded', async () => {
    const mallory = await stack.token('mallory-hangup');
    const client = new OpenAI({ baseURL: `${stack.api}/v1/`, apiKey: mallory, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: words(3_000) }],
      max_tokens: 200,
      stream: true,
    });
    let chunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) chunks += 1;
      if (chunks > 0) break;
    }
    expect(chunks).toBe(1);
    const next = await chat(stack.api, mallory, { messages: [{ role: 'user', content: 'Hello' }] });
    expect(next).toMatchObject({ status: 429, code: 'user_quota_exceeded' });
  });
});
