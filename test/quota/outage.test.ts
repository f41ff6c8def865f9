/**
 * Azurite stopped mid-run: admits go on with per-instance limits, the state says degraded, one warning;
 * Azurite back on the same port and folder: the next probe finds it, the state is ok again, and the
 * counts written before the outage are still there.
 */
import { describe, expect, it } from 'vitest';
import { useAzurite } from '../stand-ins/azurite';
import { NOON, instance, newUser, outcome } from './quota';

const azurite = useAzurite();

describe('a store outage', () => {
  it('degrades to per-instance limits with one warning, then recovers after the probe back-off', async () => {
    const [a, b] = [instance(azurite.connectionString), instance(azurite.connectionString)];
    const [alice, bob] = [newUser(), newUser()];
    for (let i = 0; i < 5; i++) expect(await outcome(i % 2 ? a : b, alice, NOON)).toBe('ok');
    await a.recordUsage(alice, 700, NOON);

    await azurite.stop();
    // Each instance now counts alice on its own: 20 a minute each, from 0.
    const whileOut = [];
    for (let i = 0; i < 21; i++) whileOut.push(await outcome(a, alice, NOON + 1_000));
    expect(whileOut.slice(0, 20).every((o) => o === 'ok')).toBe(true);
    expect(whileOut[20]).toBe('user_quota_exceeded');
    expect(await outcome(b, alice, NOON + 1_000)).toBe('ok');
    await a.recordUsage(bob, 1_000, NOON + 1_000);
    expect(await outcome(a, bob, NOON + 1_000)).toBe('user_quota_exceeded');
    expect(await outcome(b, bob, NOON + 1_000)).toBe('ok');

    const state = a.state();
    expect(state).toMatchObject({ state: 'degraded', since: new Date(NOON + 1_000).toISOString() });
    expect(state.state === 'degraded' && state.lastError).toMatch(/ECONNREFUSED|connect/i);
    const warnings = a.log.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/store unavailable/);

    // A probe before the back-off (5 s) passes is not tried; one after it, with the store still out, waits longer.
    expect(await outcome(a, newUser(), NOON + 6_500)).toBe('ok');
    expect(a.state()).toMatchObject({ state: 'degraded', nextProbeAt: new Date(NOON + 16_500).toISOString() });

    await azurite.restart();
    expect(await outcome(a, newUser(), NOON + 10_000)).toBe('ok');
    expect(a.state().state).toBe('degraded');
    // The probe is due: the store answers, and it still holds what was written before the outage (5
    // requests this minute, 700 tokens today); what was counted in memory meanwhile is not copied back.
    expect(await a.admit(alice, NOON + 16_500)).toEqual({ requestsRemaining: 14, tokensRemaining: 300 });
    expect(a.state()).toEqual({ state: 'ok', since: new Date(NOON + 16_500).toISOString() });
    expect((await b.admit(bob, NOON + 17_000)).tokensRemaining).toBe(1_000);
    expect(b.state().state).toBe('ok');
    expect(a.log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(a.log.lines.some((l) => l.level === 'info' && /reachable again/.test(l.message))).toBe(true);
  });
});
