import { describe, expect, it } from 'vitest';
import type { Caller } from '../../../shared/auth/caller';
import { ConfigError } from '../../../shared/config-error';
import {
  CallerInFlight,
  callerLimitSettings,
  IN_FLIGHT_RETRY_AFTER_MS,
  limitedCallerKey,
  releasingBody,
} from '../../../shared/resilience/caller-limit';

const alice: Caller = { kind: 'user', id: 't:alice' };
const bob: Caller = { kind: 'user', id: 't:bob' };
const daemon: Caller = { kind: 'app', id: 't:alice' };
const service: Caller = { kind: 'service', id: 'service' };

describe('CHAT_CALLER_MAX_IN_FLIGHT', () => {
  it.each([
    [undefined, 10],
    ['0', 0],
    ['25', 25],
  ])('reads %s as %i', (raw, expected) => {
    expect(callerLimitSettings(raw === undefined ? {} : { CHAT_CALLER_MAX_IN_FLIGHT: raw }).maxInFlight).toBe(expected);
  });

  it.each(['-1', 'ten', '1.5', '10001'])('refuses %s, naming the setting', (raw) => {
    expect(() => callerLimitSettings({ CHAT_CALLER_MAX_IN_FLIGHT: raw })).toThrow(ConfigError);
    expect(() => callerLimitSettings({ CHAT_CALLER_MAX_IN_FLIGHT: raw })).toThrow(/CHAT_CALLER_MAX_IN_FLIGHT/);
  });
});

describe('which callers are limited', () => {
  it.each([
    ['a user', alice, 'user:t:alice'],
    ['a daemon app (apart from a user with the same id)', daemon, 'app:t:alice'],
    ['nobody (a gateway in front limits them)', undefined, undefined],
    ['the service caller (a trusted server relaying many people)', service, undefined],
  ] as const)('%s', (_who, caller, key) => {
    expect(limitedCallerKey(caller)).toBe(key);
  });
});

describe('requests in flight per caller', () => {
  it('admits up to the limit per caller, then says how many are running and when to come back', () => {
    const limit = new CallerInFlight({ maxInFlight: 2 });
    const first = limit.admit(alice);
    const second = limit.admit(alice);
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(limit.admit(alice)).toEqual({ ok: false, inFlight: 2, limit: 2, retryAfterMs: IN_FLIGHT_RETRY_AFTER_MS });
    // Another caller is not held back by Alice's requests.
    expect(limit.admit(bob).ok).toBe(true);
    if (first.ok) first.release();
    expect(limit.inFlight(alice)).toBe(1);
    expect(limit.admit(alice).ok).toBe(true);
  });

  it('counts a release once however often it is called', () => {
    const limit = new CallerInFlight({ maxInFlight: 2 });
    const first = limit.admit(alice);
    limit.admit(alice);
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(limit.inFlight(alice)).toBe(1);
  });

  it('never limits when the setting is 0, nor callers who are not limited', () => {
    const off = new CallerInFlight({ maxInFlight: 0 });
    const on = new CallerInFlight({ maxInFlight: 1 });
    for (let i = 0; i < 5; i++) {
      expect(off.admit(alice).ok).toBe(true);
      expect(on.admit(service).ok).toBe(true);
      expect(on.admit(undefined).ok).toBe(true);
    }
  });
});

describe('a streamed body that releases its place', () => {
  async function* chunks(): AsyncGenerator<string> {
    yield await Promise.resolve('a');
    yield 'b';
  }

  it('releases when read to its end', async () => {
    let released = 0;
    const seen: string[] = [];
    for await (const chunk of releasingBody(chunks(), () => released++)) {
      expect(released).toBe(0);
      seen.push(chunk);
    }
    expect([seen, released]).toEqual([['a', 'b'], 1]);
  });

  it('releases when it fails', async () => {
    let released = 0;
    async function* failing(): AsyncGenerator<string> {
      yield await Promise.resolve('a');
      throw new Error('upstream broke');
    }
    const reading = (async () => {
      for await (const _chunk of releasingBody(failing(), () => released++));
    })();
    await expect(reading).rejects.toThrow('upstream broke');
    expect(released).toBe(1);
  });

  it('releases at once when returned while a chunk is awaited that never comes (a stalled upstream, a client gone)', async () => {
    let released = 0;
    const never: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<string>>(() => undefined),
        return: () => Promise.resolve({ done: true, value: undefined }),
      }),
    };
    const iterator = releasingBody(never, () => released++)[Symbol.asyncIterator]();
    void iterator.next();
    await iterator.return?.();
    expect(released).toBe(1);
  });
});
