import { timingSafeEqual } from 'node:crypto';

/** Compares a presented key with a known one in constant time (no early exit that leaks how much matched). */
export function sameKey(presented: string, known: string): boolean {
  const left = Buffer.from(presented);
  const right = Buffer.from(known);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The key a caller presented where the Functions host reads one: the `x-functions-key` header, else the
 * `code` query parameter. App Service checks only these two for `authLevel: 'function'`.
 */
export function presentedKey(header: string | null | undefined, query: URLSearchParams): string | undefined {
  return header || query.get('code') || undefined;
}

/**
 * Where a key came from, as the 401 names it (never the key itself). `authorization` is
 * `Authorization: Bearer <key>`, where every OpenAI SDK puts its `apiKey`; `api-key` is where the
 * `AzureOpenAI` clients put theirs.
 */
export type KeyPlace = 'x-functions-key' | 'code' | 'api-key' | 'authorization';

export interface PresentedKey {
  readonly place: KeyPlace;
  readonly key: string;
}

/** What the `Authorization` header holds: nothing, a JWT (checked as a token), a key, or something else. */
export type AuthorizationCredential =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly header: string }
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'other'; readonly header: string };

/** A JWS in compact form: three base64url parts (an access token). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Sorts the `Authorization` header: `Bearer <jwt>` is a token; `Bearer <one word that is not a JWT>` is a
 * key (an SDK's apiKey); anything else (another scheme, no value, spaces) goes to the token validator,
 * whose answer says what is wrong with it.
 */
export function authorizationCredential(authorization: string | undefined): AuthorizationCredential {
  const header = authorization?.trim() ?? '';
  if (header === '') return { kind: 'none' };
  const [scheme, value, ...rest] = header.split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer' || value === undefined || rest.length > 0) return { kind: 'other', header };
  return COMPACT_JWS.test(value) ? { kind: 'token', header } : { kind: 'key', key: value };
}

/** The keys a request carries in headers and query, in the order a 401 names them (empty values skipped). */
export function presentedKeys(
  headers: { get(name: string): string | null },
  query: URLSearchParams,
): readonly PresentedKey[] {
  const found: PresentedKey[] = [];
  const add = (place: KeyPlace, key: string | null | undefined) => {
    const value = key?.trim();
    if (value) found.push({ place, key: value });
  };
  add('x-functions-key', headers.get('x-functions-key'));
  add('code', query.get('code'));
  add('api-key', headers.get('api-key'));
  return found;
}
