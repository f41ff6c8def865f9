import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs, retryAdviceHeaders } from '../../shared/retry-after';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('parseRetryAfterMs', () => {
  it.each([
    [{ 'retry-after-ms': '1500' }, undefined, 1500],
    [{ 'retry-after-ms': '0' }, undefined, 0],
    [{ 'retry-after-ms': '12.2' }, undefined, 13],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, undefined, 250],
    [{ 'retry-after': '7' }, undefined, 7000],
    [{ 'retry-after': '0' }, undefined, 0],
    [{ 'retry-after': 'Wed, 25 Nov 2026 12:00:30 GMT' }, undefined, 30_000],
    [{ 'retry-after': 'Wed, 25 Nov 2026 11:59:00 GMT' }, undefined, 0],
    [{ 'retry-after': 'soon' }, undefined, undefined],
    [{ 'retry-after-ms': '-5' }, undefined, undefined],
    [
      {},
      'Requests ... have exceeded token rate limit ... Please retry after 86400 seconds. Please contact support.',
      86_400_000,
    ],
    [{}, 'Rate limit is exceeded. Try again in 50 seconds.', 50_000],
    [{}, 'Your requests to gpt-4.1-nano ... Please retry after 45 seconds.', 45_000],
    [{}, 'no hint here', undefined],
  ])('reads %j / %s as %s ms', (headers: Record<string, string>, message, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), message, NOW)).toBe(expected);
  });

  it('prefers the header over the sentence in the body', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '2' }), 'Please retry after 60 seconds.', NOW)).toBe(2000);
  });
});

describe('retryAdviceHeaders', () => {
  it.each([
    [undefined, '5', '5000', 'false'],
    [0, '1', '0', 'true'],
    [250, '1', '250', 'true'],
    [2_000, '2', '2000', 'true'],
    [2_001, '3', '2001', 'false'],
    [20_000, '20', '20000', 'false'],
    [29_400.2, '30', '29401', 'false'],
  ])(
    'advises a %s ms window as retry-after %s s, retry-after-ms %s and x-should-retry %s',
    (ms, seconds, exact, retry) => {
      expect(retryAdviceHeaders(ms)).toEqual({
        'retry-after': seconds,
        'retry-after-ms': exact,
        'x-should-retry': retry,
      });
    },
  );
});
