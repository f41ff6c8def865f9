import { describe, expect, it } from 'vitest';
import { defaultHttpLimits, resolveLimits } from '../../local/host/limits';
import { bodyAllowed, bodyFraming, framingHeaders } from '../../local/host/requestBody';

describe('a request body as the host sees it', () => {
  it.each([
    [{}, 'none'],
    [{ 'content-length': '0' }, 'none'],
    [{ 'content-length': '12' }, 'length'],
    [{ 'transfer-encoding': 'chunked' }, 'chunked'],
    [{ 'transfer-encoding': 'gzip, chunked' }, 'chunked'],
  ] as const)('reads %j as framed by %s', (headers, framing) => {
    expect(bodyFraming(headers)).toBe(framing);
  });

  it.each([
    ['GET', 'none', true],
    ['GET', 'length', false],
    ['HEAD', 'chunked', false],
    ['POST', 'chunked', true],
    ['DELETE', 'length', true],
  ] as const)('allows a %s framed by %s: %s', (method, framing, allowed) => {
    expect(bodyAllowed(method, framing)).toBe(allowed);
  });

  it.each([
    [{}, { 'content-length': '0' }],
    [{ 'content-length': '12' }, { 'content-length': '12' }],
    [{ 'transfer-encoding': 'chunked' }, { 'transfer-encoding': 'chunked' }],
  ])('frames %j for the proxy explicitly as %j', (headers, framing) => {
    expect(framingHeaders(headers)).toEqual(framing);
  });
});

describe('the client limits', () => {
  it('fills in the defaults and keeps what is given', () => {
    expect(resolveLimits({ bodyIdleTimeoutMs: 250 })).toEqual({ ...defaultHttpLimits, bodyIdleTimeoutMs: 250 });
  });

  it.each([
    [{ bodyIdleTimeoutMs: 0 }, /limits\.bodyIdleTimeoutMs must be a positive integer/],
    [{ drainBytes: 1.5 }, /limits\.drainBytes must be a positive integer/],
    [{ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, /headersTimeoutMs must not exceed limits\.requestTimeoutMs/],
  ])('refuses %j, naming the limit', (limits, message) => {
    expect(() => resolveLimits(limits)).toThrow(message);
  });
});
