import { describe, expect, it } from 'vitest';
import { ChatError } from '../../shared/errors';
import { useAzurite } from '../stand-ins/azurite';
import { NOON, instance, newUser, outcome } from './quota';

const azurite = useAzurite();

async function refusal(promise: Promise<unknown>): Promise<ChatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  return error as ChatError;
}

describe('per-user limits in Table Storage', () => {
  it('admits a user N requests in a minute and refuses the next with 429 until the minute ends', async () => {
    const service = instance(azurite.connectionString, { limits: { userRequestsPerMinute: 3 } });
    const user = newUser();
    const remaining = [];
    for (let i = 0; i < 3; i++) remaining.push((await service.admit(user, NOON + i)).requestsRemaining);
    expect(remaining).toEqual([2, 1, 0]);

    const error = await refusal(service.admit(user, NOON + 5_000));
    expect(error.code).toBe('user_quota_exceeded');
    expect(error.status).toBe(429);
    // NOON is 12:34:10.000; at 12:34:15.000 the minute ends in 45 s.
    expect(error.retryAfterMs).toBe(45_000);
    expect(error.message).toMatch(/at most 3 a minute/);

    expect(await outcome(service, user, Date.parse('2025-06-01T12:35:00.000Z'))).toBe('ok');
    expect(service.state()).toEqual({ state: 'ok' });
  });

  it('does not count refused requests against the next minute', async () => {
    const service = instance(azurite.connectionString, { limits: { userRequestsPerMinute: 1 } });
    const user = newUser();
    expect(await outcome(service, user, NOON)).toBe('ok');
    for (let i = 0; i < 3; i++) expect(await outcome(service, user, NOON + 1_000)).toBe('user_quota_exceeded');
    const next = await service.admit(user, NOON + 60_000);
    expect(next.requestsRemaining).toBe(0);
  });

  it('counts tokens a day from recorded usage and refuses until the next UTC midnight once they are spent', async () => {
    const service = instance(azurite.connectionString, { limits: { userTokensPerDay: 1_000 } });
    const user = newUser();
    expect((await service.admit(user, NOON)).tokensRemaining).toBe(1_000);
    await service.recordUsage(user, 600, NOON + 1);
    expect((await service.admit(user, NOON + 2)).tokensRemaining).toBe(400);
    await service.recordUsage(user, 450, NOON + 3);

    const error = await refusal(service.admit(user, NOON + 4));
    expect(error.code).toBe('user_quota_exceeded');
    expect(error.message).toMatch(/1000 tokens a day/);
    expect(error.retryAfterMs).toBe(Date.parse('2025-06-02T00:00:00.000Z') - (NOON + 4));

    expect(await outcome(service, user, Date.parse('2025-06-02T00:00:00.000Z'))).toBe('ok');
  });

  it('leaves other users alone when one is over their limits', async () => {
    const service = instance(azurite.connectionString, { limits: { userRequestsPerMinute: 1 } });
    const [alice, bob] = [newUser(), newUser()];
    await service.admit(alice, NOON);
    await service.recordUsage(alice, 5_000, NOON);
    expect(await outcome(service, alice, NOON)).toBe('user_quota_exceeded');
    expect(await outcome(service, bob, NOON)).toBe('ok');
  });

  it('holds a service caller (function key) only to the global ceiling', async () => {
    const service = instance(azurite.connectionString, { limits: { userRequestsPerMinute: 1 } });
    const caller = { kind: 'service', id: 'service' } as const;
    for (let i = 0; i < 3; i++) expect(await outcome(service, caller, NOON)).toBe('ok');
  });

  it('stores ids that Table keys forbid (/ \\ # ?) as they are, one partition each', async () => {
    const service = instance(azurite.connectionString, { limits: { userRequestsPerMinute: 1 } });
    const odd = { kind: 'user', id: `${newUser().id}/a\\b#c?d\u0001` } as const;
    const plain = { kind: 'user', id: `${odd.id.split('/')[0]}/a` } as const;
    expect(await outcome(service, odd, NOON)).toBe('ok');
    expect(await outcome(service, odd, NOON)).toBe('user_quota_exceeded');
    expect(await outcome(service, plain, NOON)).toBe('ok');
  });
});

describe('the global ceiling (sharded budget)', () => {
  it('refuses everyone with global_quota_exceeded once the minute budget is spent, until the minute ends', async () => {
    const table = `global${Date.now()}`;
    const limits = { globalTokensPerMinute: 800, userRequestsPerMinute: 0, userTokensPerDay: 0 };
    // Random numbers that walk the shards in turn, so each of the 8 shards (100 tokens each) gets 100.
    let draw = 0;
    const service = instance(azurite.connectionString, { limits, table, random: () => ((draw++ % 8) + 0.5) / 8 });
    const [alice, bob] = [newUser(), newUser()];
    for (let i = 0; i < 8; i++) await service.recordUsage(alice, 100, NOON);

    const error = await refusal(service.admit(bob, NOON + 20_000));
    expect(error.code).toBe('global_quota_exceeded');
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(30_000);
    expect(await outcome(service, bob, NOON + 49_999)).toBe('global_quota_exceeded');
    expect(await outcome(service, bob, Date.parse('2025-06-01T12:35:00.000Z'))).toBe('ok');
  });

  it('admits while any shard it reads has budget left', async () => {
    const table = `global${Date.now()}b`;
    const limits = { globalTokensPerMinute: 800, userRequestsPerMinute: 0, userTokensPerDay: 0 };
    const sequence = [0.01, 0.99]; // usage lands on shard 0; the admit reads shard 0 (spent), then shard 7
    let call = 0;
    const service = instance(azurite.connectionString, { limits, table, random: () => sequence[call++ % 2] ?? 0 });
    await service.recordUsage(newUser(), 100, NOON);
    call = 0;
    expect(await outcome(service, newUser(), NOON)).toBe('ok');
  });
});
