import { describe, expect, it } from 'vitest';
import { overlapLength, OverlapTrimmer } from '../../../shared/resilience/overlap';

describe('overlapLength', () => {
  it.each([
    ['no repeat', 'The model returns a', ' simple result.', 0],
    ['the last word said again', 'The model returns a simple', ' simple result.', ' simple'.length],
    ['the last three words said again', 'The model returns a simple', ' returns a simple result.', 17],
    ['the sentence start said again', 'Done. The model returns', 'The model returns a value.', 17],
    ['the whole partial answer said again', 'The model', 'The model returns.', 9],
    ['the longest of several matches', 'x a b a b', ' a b a b c', 8],
    ['a word finished from its first letters', 'It is in th', 'the end.', 2],
    ['a coincidental match inside a word', 'The cat', 'at home.', 0],
    ['an empty partial answer', '', 'The model returns.', 0],
    ['an empty continuation', 'The model', '', 0],
    ['a continuation shorter than the overlap it starts', 'returns a simple', ' simple', 7],
  ])('%s', (_name, partial, continuation, expected) => {
    expect(overlapLength(partial, continuation)).toBe(expected);
  });
});

/** The text an OverlapTrimmer sends for a continuation that comes in `pieces`. */
function trimmed(partial: string, pieces: readonly string[]): { sent: string[]; end: string } {
  const trimmer = new OverlapTrimmer(partial);
  const sent = pieces.map((piece) => trimmer.push(piece));
  return { sent, end: trimmer.flush() };
}

describe('OverlapTrimmer', () => {
  it('holds repeated words until they stop matching, then sends only the new text', () => {
    const partial = 'The model returns a simple';
    const { sent, end } = trimmed(partial, [' returns', ' a', ' simple', ' result', '.']);
    expect(sent).toEqual(['', '', '', ' result', '.']);
    expect(end).toBe('');
  });

  it('sends text at once when it cannot be the start of a repeat', () => {
    const { sent } = trimmed('The model returns a', [' quick', ' value']);
    expect(sent).toEqual([' quick', ' value']);
  });

  it('drops a continuation that only repeats, when it ends while held', () => {
    const { sent, end } = trimmed('The model returns a simple', [' a', ' simple']);
    expect(sent).toEqual(['', '']);
    expect(end).toBe('');
  });

  it.each([
    [[' returns a simple result.'], 1],
    [[' ret', 'urns', ' a sim', 'ple', ' result.'], 5],
    [[' returns a simple', ' result.'], 2],
  ])('gives the same text however the continuation is split (%j)', (pieces, count) => {
    const partial = 'The model returns a simple';
    const { sent, end } = trimmed(partial, pieces);
    expect(sent).toHaveLength(count);
    expect(partial + sent.join('') + end).toBe('The model returns a simple result.');
  });
});
