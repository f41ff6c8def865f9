/**
 * jose, loaded on the first token check: it is ESM-only and takes about 20 ms to import, which the app's
 * entry must not pay on every cold start (entry import time is a benchmark goal, bench/results/RESULTS.md).
 * Its errors are told apart by their `code`, so nothing here needs the module before a token arrives.
 */
import type * as Jose from 'jose';

let loaded: Promise<typeof Jose> | undefined;

export function jose(): Promise<typeof Jose> {
  return (loaded ??= import('jose'));
}

/** jose's error codes this backend tells apart (`JOSEError.code`). */
export type JoseErrorCode =
  | 'ERR_JOSE_ALG_NOT_ALLOWED'
  | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_CLAIM_VALIDATION_FAILED'
  | 'ERR_JWKS_NO_MATCHING_KEY';

/** Whether `error` is jose's error with `code` (any jose error when no code is given). */
export function isJoseError(error: unknown, code?: JoseErrorCode): error is Jose.errors.JOSEError {
  const actual = (error as { code?: unknown } | null)?.code;
  return typeof actual === 'string' && actual.startsWith('ERR_') && (code === undefined || actual === code);
}
