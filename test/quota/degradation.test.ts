/**
 * The fallback state machine with a small fake store (deterministic: the clock is the `now` passed in),
 * a store that never answers (the per-call timeout), and ETag contention past the retry bound.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCounters, QuotaService, TableCounters, type Counters } from '../../shared/quota';
import { quotaTableClient } from '../../shared/quota/table-counters';
import { useAzurite } from '../stand-ins/azurite';
import { LIMITS, NOON, newUser, outcome, recordingLogger } from './quota';

/** Memory counters that can be switched off, failing like a refused connection; counts store calls. */
class SwitchableStore implements Counters {
  readonly #inner = new MemoryCounters();
  up = true;
  calls = 0;
  read(...args: Parameters<Counters['read']>) {
    return this.#gate().then(() => this.#inner.read(...args));
  }
  readForUpdate(...args: Parameters<Counters['readForUpdate']>) {
    return this.#gate().then(() => this.#inner.readForUpdate(...args));
  }
  add(...args: Parameters<Counters['add']>) {
    return this.#gate().then(() => this.#inner.add(...args));
  }
  adjust(...args: Parameters<Counters['adjust']>) {
    return this.#gate().then(() => this.#inner.adjust(...args));
  }
  async #gate(): Promise<void> {
    this.calls++;
    await Promise.resolve();
    if (!this.up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10002'), { code: 'ECONNREFUSED' });
  }
}

function serviceOn(store: Counters, limits = LIMITS) {
  const logger = recordingLogger();
  return {
    logger,
    service: new QuotaService({ limits, store, logger, probeBackoffMs: 1_000, maxProbeBackoffMs: 4_000 }),
  };
}

describe('fallback to per-instance counting', () => {
  it('backs off 1, 2, 4, 4 s between probes of a store that stays out, then recovers on the first probe that works', async () => {
    const store = new SwitchableStore();
    const { service, logger } = serviceOn(store);
    store.up = false;
    await service.admit(newUser(), NOON);
    const probes: string[] = [];
    for (let t = NOON; t <= NOON + 12_000; t += 250) {
      const before = store.calls;
      await service.admit(newUser(), t);
      if (store.calls > before) probes.push(`${t - NOON}`);
    }
    // Failed at 0 -> probe at 1000, fails -> 3000 (2 s) -> 7000 (4 s) -> 11000 (capped at 4 s) -> 15000.
    expect(probes).toEqual(['1000', '3000', '7000', '11000']);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(service.state()).toMatchObject({ state: 'degraded', nextProbeAt: new Date(NOON + 15_000).toISOString() });

    store.up = true;
    await service.admit(newUser(), NOON + 14_999);
    expect(service.state().state).toBe('degraded');
    await service.admit(newUser(), NOON + 15_000);
    expect(service.state()).toEqual({ state: 'ok', since: new Date(NOON + 15_000).toISOString() });
  });

  it('lets one call at a time probe the store while the others count in memory', async () => {
    const store = new SwitchableStore();
    const { service } = serviceOn(store, { ...LIMITS, userTokensPerDay: 0 });
    store.up = false;
    await service.admit(newUser(), NOON);
    const before = store.calls;
    await Promise.all(Array.from({ length: 10 }, () => service.admit(newUser(), NOON + 2_000)));
    expect(store.calls - before).toBe(1);
  });

  it('keeps counting usage and limits in memory while the store is out, and never throws from recordUsage', async () => {
    const store = new SwitchableStore();
    // A global budget of 1 token has one shard, so one answer spends it whichever shard usage lands on.
    const { service } = serviceOn(store, { ...LIMITS, userTokensPerDay: 500, globalTokensPerMinute: 1 });
    const user = newUser();
    store.up = false;
    await expect(service.recordUsage(user, 500, NOON)).resolves.toBeUndefined();
    // Both spent: the refusal names the limit that lasts longer, so its Retry-After is right.
    expect(await outcome(service, user, NOON)).toBe('user_quota_exceeded');
    expect(await outcome(service, newUser(), NOON)).toBe('global_quota_exceeded');
    expect(await outcome(service, newUser(), NOON + 60_000)).toBe('ok');
    expect(service.state().state).toBe('degraded');
  });

  it('says "local" when no store is configured, and still applies the limits in this instance', async () => {
    const service = new QuotaService({ limits: { ...LIMITS, userRequestsPerMinute: 1 }, logger: recordingLogger() });
    const user = newUser();
    expect(await outcome(service, user, NOON)).toBe('ok');
    expect(await outcome(service, user, NOON)).toBe('user_quota_exceeded');
    expect(service.state()).toMatchObject({ state: 'local' });
  });
});

describe('a store that accepts connections but never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up on each call after the timeout and degrades instead of holding the chat', async () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const endpoint = `http://127.0.0.1:${address.port}/devstoreaccount1`;
    const client = quotaTableClient(
      {
        kind: 'connection-string',
        connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('not-a-key').toString('base64')};TableEndpoint=${endpoint}`,
      },
      'quotas',
    );
    const logger = recordingLogger();
    const service = new QuotaService({ limits: LIMITS, store: new TableCounters({ client, timeoutMs: 100 }), logger });
    expect(await outcome(service, newUser(), NOON)).toBe('ok');
    const state = service.state();
    expect(state.state === 'degraded' && state.lastError).toMatch(/abort/i);
  });
});

describe('ETag contention past the retry bound', () => {
  const azurite = useAzurite();

  /**
   * Two instances whose writes wait until both have read the counter: both then write on the same
   * ETag, so exactly one write wins and the other gets 409/412, every time.
   */
  async function racingInstances(): Promise<QuotaService[]> {
    let reads = 0;
    let bothRead: () => void = () => {};
    const barrier = new Promise<void>((resolve) => (bothRead = resolve));
    const make = async () => {
      const client = await quotaTableClient(
        { kind: 'connection-string', connectionString: azurite.connectionString },
        'quotas',
      );
      const getEntity = client.getEntity.bind(client);
      const createEntity = client.createEntity.bind(client);
      const updateEntity = client.updateEntity.bind(client);
      Object.assign(client, {
        getEntity: (...args: Parameters<typeof getEntity>) =>
          getEntity(...args).finally(() => ++reads === 2 && bothRead()),
        createEntity: (...args: Parameters<typeof createEntity>) => barrier.then(() => createEntity(...args)),
        updateEntity: (...args: Parameters<typeof updateEntity>) => barrier.then(() => updateEntity(...args)),
      });
      const store = new TableCounters({ client, maxAttempts: 1, timeoutMs: 2_000 });
      return new QuotaService({ limits: { ...LIMITS, userTokensPerDay: 0 }, store, logger: recordingLogger() });
    };
    return Promise.all([make(), make()]);
  }

  it('refuses a request it could not count (Retry-After 1 s) rather than admitting it uncounted', async () => {
    const [a, b] = (await racingInstances()) as [QuotaService, QuotaService];
    const user = newUser();
    const results = await Promise.all(
      [a, b].map((service) =>
        service.admit(user, NOON).then(
          () => 'ok',
          (error: { code: string; retryAfterMs: number }) => `${error.code} ${error.retryAfterMs}`,
        ),
      ),
    );
    expect(results.sort()).toEqual(['ok', 'user_quota_exceeded 1000']);
    // Only the admitted request was counted, and the store was not taken for out.
    expect((await a.admit(user, NOON)).requestsRemaining).toBe(LIMITS.userRequestsPerMinute - 2);
    expect([a.state(), b.state()]).toEqual([{ state: 'ok' }, { state: 'ok' }]);
  });
});
