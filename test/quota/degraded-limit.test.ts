import { describe, expect, it } from 'vitest';
import { degradedLimit } from '../../shared/quota/service';

describe('degradedLimit', () => {
  it.each([
    [undefined, undefined],
    [1, 1],
    [2, 1],
    [3, 1],
    [20, 10],
    [200_000, 100_000],
  ])('applies %s as %s in memory while the store is out (half, at least 1)', (limit, expected) => {
    expect(degradedLimit(limit)).toBe(expected);
  });
});
