/**
 * Policy: one retry after a 401 when the key was rotated. In key-vault mode the key is cached; a
 * 401 may mean it was rotated in Key Vault since. The credential re-reads it (at most once per
 * interval) and says whether it changed: only then is the call worth one more try. A wrong key is
 * never retried in a loop, and other auth modes never retry (their refresh answers false).
 */
import { APIError } from 'openai';
import type { RegionAuth } from '../credentials';

export interface KeyRotationOptions {
  readonly auth: Pick<RegionAuth, 'refreshAfterUnauthorized'>;
  /** Called before the retry (to log it). */
  readonly onRetry?: () => void;
}

/** Runs `send`; after a 401, when the credential found a different key, runs it once more. */
export async function retryAfterKeyRotation<T>(send: () => Promise<T>, options: KeyRotationOptions): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!isUnauthorized(error) || !(await options.auth.refreshAfterUnauthorized())) throw error;
    options.onRetry?.();
    return await send();
  }
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof APIError && error.status === 401;
}
