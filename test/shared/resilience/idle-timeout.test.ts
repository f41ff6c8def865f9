import { describe, expect, it, vi } from 'vitest';
import { nextWithin, StreamStalled } from '../../../shared/resilience/idle-timeout';
import { ManualTimers } from '../manual-timers';

/** An iterator whose reads resolve only when the test hands them a value. */
function heldIterator() {
  const reads: ((result: IteratorResult<string>) => void)[] = [];
  const iterator: AsyncIterator<string> = {
    next: () => new Promise((resolve) => reads.push(resolve)),
  };
  return { iterator, reads };
}

describe('nextWithin', () => {
  it('hands back a chunk that comes within the limit and leaves no timer behind', async () => {
    const timers = new ManualTimers();
    const { iterator, reads } = heldIterator();
    const onStall = vi.fn();
    const pending = nextWithin(iterator, { idleMs: 5_000, onStall, timers });
    expect(timers.waiting()).toEqual([5_000]);
    reads[0]?.({ done: false, value: 'chunk' });
    await expect(pending).resolves.toEqual({ done: false, value: 'chunk' });
    expect(timers.waiting()).toEqual([]);
    expect(onStall).not.toHaveBeenCalled();
  });

  it('rejects with StreamStalled and stops the upstream call when nothing comes within the limit', async () => {
    const timers = new ManualTimers();
    const { iterator } = heldIterator();
    const onStall = vi.fn();
    const pending = nextWithin(iterator, { idleMs: 5_000, onStall, timers });
    await timers.elapse();
    await expect(pending).rejects.toEqual(new StreamStalled(5_000));
    expect(onStall).toHaveBeenCalledOnce();
  });

  it('rethrows a read that fails within the limit, which is a break and not a stall', async () => {
    const timers = new ManualTimers();
    const iterator: AsyncIterator<string> = { next: () => Promise.reject(new TypeError('terminated')) };
    const onStall = vi.fn();
    await expect(nextWithin(iterator, { idleMs: 5_000, onStall, timers })).rejects.toThrow('terminated');
    expect(onStall).not.toHaveBeenCalled();
  });

  it('sets no timer at all when the limit is 0', async () => {
    const timers = new ManualTimers();
    const { iterator, reads } = heldIterator();
    const pending = nextWithin(iterator, { idleMs: 0, onStall: vi.fn(), timers });
    expect(timers.waiting()).toEqual([]);
    reads[0]?.({ done: true, value: undefined });
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });
});
