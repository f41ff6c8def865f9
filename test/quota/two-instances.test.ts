/**
 * Two app instances (two QuotaServices, each with its own TableClient and memory) on one Azurite: the
 * limits hold across both, and an Azurite outage degrades each to its own counting without failing.
 */
import { describe, expect, it } from 'vitest';
import { useAzurite } from '../stand-ins/azurite';
import { NOON, instance, newUser, outcome } from './quota';

const azurite = useAzurite();

describe('two instances sharing one store', () => {
  it('admits exactly the limit when 2 × 15 requests of one user arrive at once (no lost increments)', async () => {
    const [a, b] = [instance(azurite.connectionString), instance(azurite.connectionString)];
    const user = newUser();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => outcome(i % 2 === 0 ? a : b, user, NOON + i)),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'user_quota_exceeded')).toHaveLength(10);
    expect(a.state()).toEqual({ state: 'ok' });
    expect(b.state()).toEqual({ state: 'ok' });
  });

  it('refuses the N+1th request whichever instance answers, and leaves another user alone', async () => {
    const [a, b] = [instance(azurite.connectionString), instance(azurite.connectionString)];
    const [alice, bob] = [newUser(), newUser()];
    for (let i = 0; i < 20; i++) expect(await outcome(i % 3 === 0 ? a : b, alice, NOON + i)).toBe('ok');
    expect(await outcome(a, alice, NOON + 100)).toBe('user_quota_exceeded');
    expect(await outcome(b, alice, NOON + 101)).toBe('user_quota_exceeded');
    expect(await outcome(a, bob, NOON + 102)).toBe('ok');
    expect(await outcome(b, bob, NOON + 103)).toBe('ok');
  });

  it('adds tokens recorded on either instance into one daily count', async () => {
    const [a, b] = [instance(azurite.connectionString), instance(azurite.connectionString)];
    const user = newUser();
    await Promise.all([a.recordUsage(user, 300, NOON), b.recordUsage(user, 300, NOON), a.recordUsage(user, 300, NOON)]);
    expect((await b.admit(user, NOON + 1)).tokensRemaining).toBe(100);
    await b.recordUsage(user, 100, NOON + 2);
    expect(await outcome(a, user, NOON + 3)).toBe('user_quota_exceeded');
  });
});
