/**
 * Attack: a burst of 50 concurrent chats from one user against CHAT_USER_TOKENS_PER_DAY=200. Before the change the
 * daily check only read the count, and usage was written after each answer: every request of the burst read the
 * same count, and 50 of 50 were answered in one run (2,400 tokens billed), 20 of 50 in another. Now each request
 * reserves its estimate with a conditional write before the model call, admitted only while the day's count is
 * under the limit: the day is passed by at most one request's reservation.
 */
import { describe, expect, it } from 'vitest';
import { chat, useQuotaStack } from './quota-stack';

const LIMIT = 200;
const BURST = 50;
const MAX_TOKENS = 20;
const stack = useQuotaStack({ CHAT_USER_TOKENS_PER_DAY: String(LIMIT), CHAT_USER_REQUESTS_PER_MINUTE: '1000' });
const body = { messages: [{ role: 'user', content: 'Hello' }], context: { max_tokens: MAX_TOKENS } };

describe('a burst of 50 against 200 tokens a day', () => {
  it('bills at most the limit plus one request’s reservation', async () => {
    const mallory = await stack.token('mallory-token-burst');
    const outcomes = await Promise.all(Array.from({ length: BURST }, () => chat(stack.api, mallory, body)));
    const answered = outcomes.filter((o) => o.status === 200);
    const billed = answered.reduce((n, o) => n + (o.totalTokens ?? 0), 0);
    // One reservation is at most the request's bytes (an upper bound of its prompt) plus its completion limit.
    const reservation = Buffer.byteLength(JSON.stringify(body)) + MAX_TOKENS;
    expect(answered.length).toBeGreaterThan(0);
    expect(billed, `${answered.length} answered`).toBeLessThanOrEqual(LIMIT + reservation);
    expect(outcomes.filter((o) => o.status !== 200).every((o) => o.code === 'user_quota_exceeded')).toBe(true);
  });
});
