import { timingSafeEqual } from 'node:crypto';

/** Compares a presented key with a known one in constant time (no early exit that leaks how much matched). */
export function sameKey(presented: string, known: string): boolean {
  const left = Buffer.from(presented);
  const right = Buffer.from(known);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The key a caller presented: the `x-functions-key` header, else the `code` query parameter (as Azure reads it). */
export function presentedKey(header: string | null | undefined, query: URLSearchParams): string | undefined {
  return header || query.get('code') || undefined;
}
