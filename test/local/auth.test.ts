import { describe, expect, it } from 'vitest';
import { isAuthorized, presentedKey, toAuthLevel, type KeyPolicy } from '../../local/host/auth';

const policy: KeyPolicy = { enforce: true, functionKeys: ['fn-1', 'fn-2'], masterKey: 'master' };

describe('isAuthorized', () => {
  it.each([
    ['anonymous', undefined, true],
    ['function', undefined, false],
    ['function', 'fn-2', true],
    ['function', 'master', true],
    ['function', 'fn-3', false],
    ['admin', 'fn-1', false],
    ['admin', 'master', true],
    ['admin', undefined, false],
  ] as const)('for %s level with key %j answers %j', (level, key, expected) => {
    expect(isAuthorized(level, key, policy)).toBe(expected);
  });

  it('lets everything through when keys are not enforced', () => {
    expect(isAuthorized('admin', undefined, { ...policy, enforce: false })).toBe(true);
  });
});

describe('presentedKey', () => {
  it('prefers the x-functions-key header over the code query parameter', () => {
    expect(presentedKey('h', new URLSearchParams('code=q'))).toBe('h');
    expect(presentedKey(undefined, new URLSearchParams('code=q'))).toBe('q');
    expect(presentedKey(undefined, new URLSearchParams())).toBeUndefined();
  });
});

describe('toAuthLevel', () => {
  it.each([
    ['anonymous', 'anonymous'],
    ['Anonymous', 'anonymous'],
    ['function', 'function'],
    ['admin', 'admin'],
    ['system', 'admin'],
    [undefined, 'function'],
    ['bogus', 'function'],
  ])('maps %j to %j', (value, expected) => {
    expect(toAuthLevel(value)).toBe(expected);
  });
});
