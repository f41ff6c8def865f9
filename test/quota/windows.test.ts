import { describe, expect, it } from 'vitest';
import {
  dayWindow,
  escapeKey,
  minuteWindow,
  msToNextMinute,
  msToNextUtcMidnight,
  partitionKey,
  shardBudget,
} from '../../shared/quota/windows';

const at = (iso: string) => Date.parse(iso);

describe('quota windows', () => {
  it.each([
    ['2025-06-01T12:34:00.000Z', 60_000],
    ['2025-06-01T12:34:00.001Z', 59_999],
    ['2025-06-01T12:34:59.999Z', 1],
    ['2025-06-01T23:59:30.000Z', 30_000],
  ])('at %s the minute window ends in %i ms', (iso, ms) => {
    expect(msToNextMinute(at(iso))).toBe(ms);
  });

  it.each([
    ['2025-06-01T00:00:00.000Z', 86_400_000],
    ['2025-06-01T12:00:00.000Z', 43_200_000],
    ['2025-06-01T23:59:59.000Z', 1_000],
    ['2024-12-31T23:00:00.000Z', 3_600_000],
  ])('at %s the next UTC midnight is %i ms away', (iso, ms) => {
    expect(msToNextUtcMidnight(at(iso))).toBe(ms);
  });

  it('names windows by UTC minute and day, whatever the local time zone', () => {
    expect(minuteWindow(at('2025-06-01T12:34:56.789Z'))).toBe('2025-06-01T12:34');
    expect(dayWindow(at('2025-06-01T23:59:59.999Z'))).toBe('2025-06-01');
    expect(dayWindow(at('2025-06-02T00:00:00.000Z'))).toBe('2025-06-02');
  });
});

describe('partition keys', () => {
  it.each([
    ['tenant:object', 'tenant:object'],
    ['a/b', 'a%2Fb'],
    ['a\\b', 'a%5Cb'],
    ['a#b?c', 'a%23b%3Fc'],
    ['100%', '100%25'],
    ['tab\there', 'tab%09here'],
    ['del\u007f', 'del%7F'],
    ['c1\u0085', 'c1%85'],
    ['ünïcödé', 'ünïcödé'],
  ])('escapes %j as %j', (raw, escaped) => {
    expect(escapeKey(raw)).toBe(escaped);
  });

  it('keeps two ids that differ apart after escaping (the encoding is reversible)', () => {
    expect(escapeKey('a/b')).not.toBe(escapeKey('a%2Fb'));
    expect(decodeURIComponent(escapeKey('x/%y#'))).toBe('x/%y#');
  });

  it('puts each user in a partition of their own, and service callers in another', () => {
    const oid = '11111111-2222-3333-4444-555555555555';
    expect(partitionKey({ kind: 'user', id: `tid:${oid}` })).toBe(`user:tid:${oid}`);
    expect(partitionKey({ kind: 'user', id: 'service' })).not.toBe(partitionKey({ kind: 'service', id: 'service' }));
  });

  it('refuses an empty or oversized user id rather than making a bad key', () => {
    expect(() => partitionKey({ kind: 'user', id: '' })).toThrow(RangeError);
    expect(() => partitionKey({ kind: 'user', id: 'x'.repeat(257) })).toThrow(RangeError);
  });
});

describe('shard budgets', () => {
  it.each([
    [100, 8],
    [7, 8],
    [1_000_003, 8],
    [5, 1],
  ])('split %i tokens over %i shards without losing any', (total, shards) => {
    const budgets = Array.from({ length: shards }, (_, i) => shardBudget(total, shards, i));
    expect(budgets.reduce((a, b) => a + b, 0)).toBe(total);
    expect(Math.max(...budgets) - Math.min(...budgets)).toBeLessThanOrEqual(1);
  });
});
