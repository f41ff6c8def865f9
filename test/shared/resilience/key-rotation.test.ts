import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterKeyRotation } from '../../../shared/resilience/key-rotation';

const unauthorized = () =>
  APIError.generate(401, { error: { code: '401', message: 'Access denied' } }, undefined, new Headers());

/** A send that fails with the given errors in turn, then answers. */
function sends(...failures: Error[]) {
  let calls = 0;
  const send = () => {
    const failure = failures[calls++];
    return failure === undefined ? Promise.resolve('answer') : Promise.reject(failure);
  };
  return { send, calls: () => calls };
}

function auth(rotated: boolean) {
  let refreshes = 0;
  return {
    refreshAfterUnauthorized: () => {
      refreshes++;
      return Promise.resolve(rotated);
    },
    refreshes: () => refreshes,
  };
}

describe('retryAfterKeyRotation', () => {
  it('retries once after a 401 when the credential found a rotated key', async () => {
    const call = sends(unauthorized());
    const credential = auth(true);
    let retried = 0;
    await expect(retryAfterKeyRotation(call.send, { auth: credential, onRetry: () => retried++ })).resolves.toBe(
      'answer',
    );
    expect(call.calls()).toBe(2);
    expect(credential.refreshes()).toBe(1);
    expect(retried).toBe(1);
  });

  it('does not retry a 401 when the key did not change (a wrong key is never retried in a loop)', async () => {
    const call = sends(unauthorized());
    await expect(retryAfterKeyRotation(call.send, { auth: auth(false) })).rejects.toBeInstanceOf(APIError);
    expect(call.calls()).toBe(1);
  });

  it('retries at most once, even when the retry is rejected again', async () => {
    const call = sends(unauthorized(), unauthorized());
    await expect(retryAfterKeyRotation(call.send, { auth: auth(true) })).rejects.toMatchObject({ status: 401 });
    expect(call.calls()).toBe(2);
  });

  it.each([
    ['a 403', APIError.generate(403, { error: { code: 'PermissionDenied' } }, undefined, new Headers())],
    ['a 429', APIError.generate(429, { error: { code: '429' } }, undefined, new Headers())],
    ['a network error', new Error('ECONNRESET')],
  ])('leaves %s alone without asking the credential', async (_name, failure) => {
    const call = sends(failure);
    const credential = auth(true);
    await expect(retryAfterKeyRotation(call.send, { auth: credential })).rejects.toBe(failure);
    expect(credential.refreshes()).toBe(0);
  });
});
