import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../simulator/rate-limit';
import { FakeClock, client, hello, post, useSimulator } from './fixture';

const V1 = '/openai/v1/chat/completions';

describe('RateLimiter', () => {
  it.each([
    { name: 'the rpm-th request in a window', rpm: 2, tpm: 1000, asks: [1, 1, 1], results: ['ok', 'ok', 'requests'] },
    {
      name: 'a request beyond the token budget',
      rpm: 10,
      tpm: 100,
      asks: [60, 30, 20],
      results: ['ok', 'ok', 'tokens'],
    },
    { name: 'a request larger than the whole budget', rpm: 10, tpm: 100, asks: [101], results: ['tokens'] },
  ])('refuses $name', ({ rpm, tpm, asks, results }) => {
    const limiter = new RateLimiter({ rpm, tpm, now: () => 0 });
    expect(
      asks.map((tokens) => {
        const admission = limiter.admit('d', tokens);
        return admission.ok ? 'ok' : admission.limit;
      }),
    ).toEqual(results);
  });

  it('says to wait until the oldest request leaves the 60 s window', () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ rpm: 2, tpm: 1000, now: clock.now });
    limiter.admit('d', 1);
    clock.advance(20_000);
    limiter.admit('d', 1);
    clock.advance(5_000);
    expect(limiter.admit('d', 1)).toMatchObject({
      ok: false,
      limit: 'requests',
      retryAfterMs: 35_000,
      remainingRequests: 0,
    });
    clock.advance(35_000);
    expect(limiter.admit('d', 1)).toMatchObject({ ok: true, remainingRequests: 0 });
  });

  it('says to wait until enough tokens leave the window', () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ rpm: 100, tpm: 100, now: clock.now });
    limiter.admit('d', 50);
    clock.advance(10_000);
    limiter.admit('d', 40);
    expect(limiter.admit('d', 30)).toMatchObject({
      ok: false,
      limit: 'tokens',
      retryAfterMs: 50_000,
      remainingTokens: 10,
    });
  });

  it('keeps a separate window per deployment', () => {
    const limiter = new RateLimiter({ rpm: 1, tpm: 1000, now: () => 0 });
    expect(limiter.admit('a', 1).ok).toBe(true);
    expect(limiter.admit('b', 1).ok).toBe(true);
    expect(limiter.admit('a', 1).ok).toBe(false);
  });
});

describe('simulator rate limits', () => {
  const start = useSimulator();

  it('answers requests over rpm with 429, retry-after and retry-after-ms, then serves once the window moves', async () => {
    const clock = new FakeClock();
    const s = await start({ rpm: 2, now: clock.now });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(200);
    clock.advance(30_000);
    const second = await post(s, V1, { model: 'gpt-4o', messages: hello });
    expect(second.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    clock.advance(500);
    const refused = await post(s, V1, { model: 'gpt-4o', messages: hello });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after-ms')).toBe('29500');
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(refused.body).toEqual({
      error: {
        code: '429',
        message:
          'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version v1 have exceeded call rate limit of your current AIServices S0 pricing tier. Please retry after 30 seconds. Please contact Azure support service if you would like to further increase the default rate limit.',
      },
    });
    clock.advance(29_500);
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(200);
  });

  it('answers requests over tpm with the token rate limit wording and the classic api-version', async () => {
    const clock = new FakeClock();
    const s = await start({ tpm: 100, now: clock.now });
    const path = '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21';
    expect((await post(s, path, { messages: hello, max_tokens: 60 })).status).toBe(200);
    const refused = await post(s, path, { messages: hello, max_tokens: 60 });
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('under Azure OpenAI API version 2024-10-21 have exceeded token rate limit');
    expect(refused.text).toContain('Please retry after 60 seconds.');
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('makes the openai client raise RateLimitError with the retry headers', async () => {
    const s = await start({ rpm: 1, now: new FakeClock().now });
    await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello });
    const failure = await client(s)
      .chat.completions.create({ model: 'gpt-4o', messages: hello })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after-ms')).toBe('60000');
  });

  it('counts remaining tokens as prompt plus max_tokens', async () => {
    const s = await start({ tpm: 10_000, now: new FakeClock().now });
    const response = await post(s, V1, { model: 'gpt-4o', messages: hello, max_tokens: 100 });
    const usage = (response.body as { usage: { prompt_tokens: number } }).usage;
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBe(10_000 - usage.prompt_tokens - 100);
  });

  it('forgets the windows on reset', async () => {
    const s = await start({ rpm: 1, now: new FakeClock().now });
    await post(s, V1, { model: 'gpt-4o', messages: hello });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(429);
    await fetch(`${s.url}/_sim/reset`, { method: 'POST' });
    expect((await post(s, V1, { model: 'gpt-4o', messages: hello })).status).toBe(200);
  });
});
