import { describe, expect, it } from 'vitest';
import { ChatError, ERROR_CODES, type ErrorCode } from '../../../shared/errors';
import { clientMayRetry, errorHeaders } from '../../../shared/http/responses';

const hint = (code: ErrorCode, retryAfterMs?: number) =>
  errorHeaders(new ChatError(code, { message: 'm', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }), 'r')[
    'x-should-retry'
  ];

describe('x-should-retry on error answers', () => {
  it.each([
    ['previous_response_unavailable', 'false'],
    ['deployment_not_found', 'false'],
    ['key_rejected', 'false'],
    ['permission_denied', 'false'],
    ['credential_unavailable', 'false'],
    ['key_vault_access_denied', 'false'],
    ['secret_not_found', 'false'],
    ['invalid_request', 'false'],
    ['unauthorized', 'false'],
    ['forbidden', 'false'],
    ['not_found', 'false'],
    ['payload_too_large', 'false'],
    ['content_filtered', 'false'],
    ['internal_error', 'false'],
    ['upstream_timeout', 'true'],
    ['upstream_error', 'true'],
  ] as const)('%s: %s', (code, expected) => {
    expect(hint(code)).toBe(expected);
  });

  it('keeps the 429/503 advice: true within the short window, false past it', () => {
    expect(hint('all_regions_throttled', 1_000)).toBe('true');
    expect(hint('all_regions_throttled', 30_000)).toBe('false');
    expect(hint('region_unavailable', 500)).toBe('true');
  });

  it('invites a retry for no 4xx but 429, and for no 502 but a bad upstream answer', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    const retried = codes.filter((c) => ERROR_CODES[c].status !== 429 && clientMayRetry(c));
    expect(retried.filter((c) => ERROR_CODES[c].status < 500)).toEqual([]);
    expect(retried.filter((c) => ERROR_CODES[c].status === 502)).toEqual(['upstream_error']);
  });
});
