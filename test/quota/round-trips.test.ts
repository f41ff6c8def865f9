/**
 * How many store calls one quota check costs (`admit`, then `recordUsage` of the answer's tokens, as the
 * chat path makes them), counted by a pipeline policy on the real TableClient against Azurite: every
 * HTTP request the SDK sends passes through it. Each check is one read of the user's two rows (one
 * partition query), one conditional write of the minute's count and one of the day's tokens.
 */
import type { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { QuotaService, TableCounters, quotaTableClient } from '../../shared/quota';
import { useAzurite } from '../stand-ins/azurite';
import { LIMITS, NOON, instance, newUser, recordingLogger } from './quota';

const azurite = useAzurite();

/** A QuotaService on its own TableClient whose requests are recorded as `METHOD resource`. */
async function countedInstance(maxKeptRows?: number): Promise<{ service: QuotaService; requests: string[] }> {
  const client: TableClient = await quotaTableClient(
    { kind: 'connection-string', connectionString: azurite.connectionString },
    'quotas',
  );
  const requests: string[] = [];
  client.pipeline.addPolicy({
    name: 'count-store-calls',
    sendRequest: (request, next) => {
      // `/devstoreaccount1/quotas(PartitionKey=…,RowKey=…)` is one row, `/devstoreaccount1/quotas()` a query.
      const resource = decodeURIComponent(new URL(request.url).pathname).replace(/^\/[^/]+\//, '');
      requests.push(
        `${request.method} ${resource.startsWith('quotas(') && resource !== 'quotas()' ? 'row' : resource}`,
      );
      return next(request);
    },
  });
  const store = new TableCounters({ client, timeoutMs: 2_000, maxKeptRows });
  return { service: new QuotaService({ limits: LIMITS, store, logger: recordingLogger() }), requests };
}

/** The store calls of one check: admit, then recordUsage. */
async function check(counted: { service: QuotaService; requests: string[] }, user = newUser(), now = NOON) {
  counted.requests.length = 0;
  await counted.service.admit(user, now);
  const admit = [...counted.requests];
  await counted.service.recordUsage(user, 10, now);
  return { admit, recordUsage: counted.requests.slice(admit.length) };
}

describe('store calls per quota check', () => {
  it('reads both rows of the user in one query and writes each once: 3 calls when the rows exist', async () => {
    const counted = await countedInstance();
    const user = newUser();
    await check(counted, user); // creates the table and the user's rows
    expect(await check(counted, user, NOON + 1)).toEqual({
      admit: ['GET quotas()', 'PUT row'],
      recordUsage: ['PUT row'],
    });
    // And the counts are right: 2 requests this minute, 20 tokens today.
    expect(await counted.service.admit(user, NOON + 2)).toEqual({
      requestsRemaining: LIMITS.userRequestsPerMinute - 3,
      tokensRemaining: LIMITS.userTokensPerDay - 20,
    });
  });

  it('creates the rows of a new user with 3 calls too (the query found neither)', async () => {
    const counted = await countedInstance();
    await check(counted); // the table exists from here on
    expect(await check(counted)).toEqual({ admit: ['GET quotas()', 'POST quotas'], recordUsage: ['POST quotas'] });
  });

  it('reads the day again and retries when another instance added to it since admit read it (412), losing nothing', async () => {
    const counted = await countedInstance();
    const other = instance(azurite.connectionString);
    const user = newUser();
    await check(counted, user);
    counted.requests.length = 0;
    await counted.service.admit(user, NOON + 1);
    await other.recordUsage(user, 100, NOON + 1);
    const before = counted.requests.length;
    await counted.service.recordUsage(user, 10, NOON + 1);
    expect(counted.requests.slice(before)).toEqual(['PUT row', 'GET row', 'PUT row']);
    expect((await other.admit(user, NOON + 2)).tokensRemaining).toBe(LIMITS.userTokensPerDay - 120);
  });

  it('keeps only the newest rows read for update: an older one is read again before its write', async () => {
    const counted = await countedInstance(2);
    const [alice, bob] = [newUser(), newUser()];
    await check(counted, alice);
    await check(counted, bob);
    counted.requests.length = 0;
    await counted.service.admit(alice, NOON + 1); // keeps alice's two rows, minute taken by its write
    await counted.service.admit(bob, NOON + 1); // keeps bob's two rows: alice's day row is dropped
    const before = counted.requests.length;
    await counted.service.recordUsage(alice, 10, NOON + 1);
    await counted.service.recordUsage(bob, 10, NOON + 1);
    expect(counted.requests.slice(before)).toEqual(['GET row', 'PUT row', 'PUT row']);
  });
});
