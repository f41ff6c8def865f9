/**
 * Attack: ten streams of a prompt of about 19,000 tokens, each dropped after its first chunk. Before the change all
 * ten counted 0 tokens (usage was counted only from the region's usage chunk); Azure bills each prompt. Now each
 * drop is settled with the prompt (counted as the region counts it) plus the chunks streamed: the quota table
 * holds at least the ten prompts, as Azure would bill them (the region's usage of the same prompt read to its end
 * is the measure). The real openai SDK streams; breaking out of its iterator closes the connection.
 */
import OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { useQuotaStack } from './quota-stack';

const stack = useQuotaStack(
  { CHAT_USER_TOKENS_PER_DAY: '100000000', CHAT_USER_REQUESTS_PER_MINUTE: '1000' },
  { latency: { firstTokenMs: 0, perTokenMs: 20 } },
);

const DROPS = 10;
const prompt = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(1_450);

async function client(user: string): Promise<OpenAI> {
  return new OpenAI({ baseURL: `${stack.api}/v1/`, apiKey: await stack.token(user), maxRetries: 0 });
}

describe('streams of a long prompt dropped after their first chunk', () => {
  it('count at least each prompt’s tokens against the daily quota', async () => {
    // What the region bills for this prompt, read from a chat read to its end.
    const whole = await (
      await client('reader')
    ).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: prompt }],
      max_tokens: 5,
    });
    const promptTokens = whole.usage?.prompt_tokens ?? 0;
    expect(promptTokens).toBeGreaterThan(15_000);

    const token = await stack.token('mallory-drops');
    const mallory = new OpenAI({ baseURL: `${stack.api}/v1/`, apiKey: token, maxRetries: 0 });
    for (let i = 0; i < DROPS; i++) {
      const stream = await mallory.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: prompt }],
        max_tokens: 100,
        stream: true,
        // A new conversation each time (the chats are stored by default): the prompt is the same every time.
        store: false,
      });
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    }
    // Each reservation (an upper bound: the prompt's bytes and the completion limit) is settled once the backend
    // has seen the client leave; then the day's count is the settled usage.
    await vi.waitFor(async () => expect(await stack.dayTokens(token)).toBeLessThan(DROPS * 2 * promptTokens), {
      timeout: 15_000,
      interval: 100,
    });
    const counted = await stack.dayTokens(token);
    expect(counted).toBeGreaterThanOrEqual(DROPS * promptTokens);
  }, 60_000);
});
