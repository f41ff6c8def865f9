import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatError } from '../../../shared/errors';
import { withAttemptTimeout } from '../../../shared/resilience/attempt-timeout';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** An attempt that answers after `ms`, or rejects with the signal's reason when aborted first. */
function answerAfter(ms: number) {
  return (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve('first byte'), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
    });
}

const limits = { firstByteMs: 1_000, deadlineMs: 5_000, region: 'eastus2' };

describe('withAttemptTimeout', () => {
  it('hands back the answer and a live signal when the first byte comes in time', async () => {
    const pending = withAttemptTimeout(answerAfter(500), limits);
    await vi.advanceTimersByTimeAsync(500);
    const timed = await pending;
    expect(timed.value).toBe('first byte');
    // Past the first-byte limit, the answer may still be read: only the deadline cuts it.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(timed.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(timed.signal.aborted).toBe(true);
    timed.release();
  });

  it('turns a missing first byte into upstream_timeout naming the region and the limit', async () => {
    const pending = withAttemptTimeout(answerAfter(10_000), limits);
    const assertion = expect(pending).rejects.toMatchObject({
      code: 'upstream_timeout',
      diagnosis: 'Region eastus2 sent no first byte within 1000 ms.',
    });
    await vi.advanceTimersByTimeAsync(1_000);
    await assertion;
  });

  it('passes on what the attempt threw when no limit cut it off', async () => {
    const own = new ChatError('region_unavailable', { message: 'down' });
    await expect(withAttemptTimeout(() => Promise.reject(own), limits)).rejects.toBe(own);
  });

  it('aborts on the client signal without calling it a timeout', async () => {
    const client = new AbortController();
    const pending = withAttemptTimeout(answerAfter(10_000), { ...limits, signal: client.signal });
    const assertion = expect(pending).rejects.toThrow('client');
    client.abort();
    await assertion;
  });

  it('releases its timers: a released answer is never aborted by the deadline', async () => {
    const pending = withAttemptTimeout(answerAfter(10), limits);
    await vi.advanceTimersByTimeAsync(10);
    const timed = await pending;
    timed.release();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(timed.signal.aborted).toBe(false);
  });
});
