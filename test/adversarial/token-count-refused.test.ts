/**
 * Attack: a user already over their daily quota sends a message that is slow to tokenize. Before the change the
 * conversation service counted it (tens of seconds of event loop) and only then asked the quota: the 429 came after
 * 19 s, and every other request on the instance waited as long. The quota is now asked before any tokenizer work:
 * the 429 comes from the store's answer alone, and /api/health, asked at the same time, answers too. Before the
 * change this test did not finish within its timeout.
 */
import { describe, expect, it } from 'vitest';
import { chat, useQuotaStack } from './quota-stack';

const stack = useQuotaStack({ CHAT_USER_TOKENS_PER_DAY: '20' });
const attack = { messages: [{ role: 'user', content: '用户'.repeat(40_000) }], context: { max_tokens: 5 } };

describe('a user over quota sending a message that is slow to tokenize', () => {
  it('is refused 429 user_quota_exceeded without the region being asked, and health answers meanwhile', async () => {
    const mallory = await stack.token('mallory-over-quota');
    // One ordinary chat spends the day's 20 tokens.
    expect((await chat(stack.api, mallory, { messages: [{ role: 'user', content: 'Hello' }] })).status).toBe(200);
    const { primary, secondary } = stack.stack.backend;
    const asked = primary.stats().total + secondary.stats().total;
    const [refused, health] = await Promise.all([chat(stack.api, mallory, attack), fetch(`${stack.api}/health`)]);
    expect(refused).toMatchObject({ status: 429, code: 'user_quota_exceeded' });
    expect(health.status).toBe(200);
    expect(primary.stats().total + secondary.stats().total).toBe(asked);
  });
});
