import { presentedKey as presentedKeyOf, sameKey } from '../../shared/auth/keys';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

/** Which keys the host accepts. `enforce: false` lets every request through, like `func start`. */
export interface KeyPolicy {
  readonly enforce: boolean;
  readonly functionKeys: readonly string[];
  readonly masterKey: string | undefined;
}

/** Normalises a binding's `authLevel`; the Functions host defaults a missing level to `function`. */
export function toAuthLevel(value: unknown): AuthLevel {
  const level = typeof value === 'string' ? value.toLowerCase() : 'function';
  if (level === 'anonymous') return 'anonymous';
  // 'system' is an admin-only level in the host; anything unknown gets the safer default.
  if (level === 'admin' || level === 'system') return 'admin';
  return 'function';
}

/** The key a caller presented: the `x-functions-key` header, else the `code` query parameter. */
export function presentedKey(header: string | string[] | undefined, query: URLSearchParams): string | undefined {
  return presentedKeyOf(Array.isArray(header) ? header[0] : header, query);
}

/** Function level accepts a function key or the master key; admin level only the master key. */
export function isAuthorized(level: AuthLevel, key: string | undefined, policy: KeyPolicy): boolean {
  if (level === 'anonymous' || !policy.enforce) return true;
  if (key === undefined) return false;
  if (policy.masterKey !== undefined && sameKey(key, policy.masterKey)) return true;
  return level === 'function' && policy.functionKeys.some((k) => sameKey(key, k));
}

/** Why a request may not pass: no key at all, or a key that is not accepted; undefined when it may pass. */
export type KeyRefusal = 'missing' | 'rejected';

export function keyRefusal(level: AuthLevel, key: string | undefined, policy: KeyPolicy): KeyRefusal | undefined {
  if (isAuthorized(level, key, policy)) return undefined;
  return key === undefined ? 'missing' : 'rejected';
}
