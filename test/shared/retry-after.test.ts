import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from '../../shared/retry-after';

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
