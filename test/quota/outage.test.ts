/**
 * Azurite stopped mid-run: admits go on with per-instance limits from the counts each instance last saw in
 * the store (never from 0), the state says degraded, one warning; Azurite back on the same port and folder:
 * the next probe finds it, writes back what was counted meanwhile, and the state is ok again.
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
    // Each instance goes on from the count it last saw, against half the limit (each counts blind to the other):
    // a's last write made alice's minute 4, so 6 more up to 10 of 20.
    const whileOut = [];
    for (let i = 0; i < 7; i++) whileOut.push(await outcome(a, alice, NOON + 1_000));
    expect(whileOut.slice(0, 6).every((o) => o === 'ok')).toBe(true);
    expect(whileOut[6]).toBe('user_quota_exceeded');
    // b's last write made it 5; it admits her once more on its own.
    expect(await outcome(b, alice, NOON + 1_000)).toBe('ok');
    await a.recordUsage(bob, 1_000, NOON + 1_000);
    expect(await outcome(a, bob, NOON + 1_000)).toBe('user_quota_exceeded');
    // b has never seen bob: it counts him from 0 until the store is back.
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
    // The probe is due: the store answers, a's counts made meanwhile go back to it (6 of alice's requests, bob's
    // 1,000 tokens) on top of what it held (5 requests, 700 tokens), and then b's (one request each).
    expect(await a.admit(newUser(), NOON + 16_500)).toMatchObject({ requestsRemaining: 19 });
    expect(a.state()).toEqual({ state: 'ok', since: new Date(NOON + 16_500).toISOString() });
    expect(await outcome(b, bob, NOON + 17_000)).toBe('user_quota_exceeded');
    expect(b.state().state).toBe('ok');
    // Written back: 5 + 6 + 1 requests this minute, so the store's count lets her go on up to the limit.
    expect(await outcome(a, alice, NOON + 17_000)).toBe('ok');
    // 700 tokens today (the next minute starts a new request count).
    expect(await a.admit(alice, NOON + 60_000)).toEqual({ requestsRemaining: 19, tokensRemaining: 300 });
    expect(a.log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(a.log.lines.some((l) => l.level === 'info' && /reachable again/.test(l.message))).toBe(true);
  });
});
