import { describe, expect, it } from 'vitest';
import { cutAnswer, generateAnswer, requestSeed } from '../../simulator/generate';
import { countPromptTokens, countTokens } from '../../simulator/tokens';

describe('generateAnswer', () => {
  it('gives the same tokens for the same seed and different text for another seed', () => {
    expect(generateAnswer(42, 40)).toEqual(generateAnswer(42, 40));
    expect(generateAnswer(43, 40).text).not.toBe(generateAnswer(42, 40).text);
  });

  it('writes whole sentences of at least the requested length whose tokens re-encode to the same count', () => {
    const answer = generateAnswer(7, 25);
    expect(answer.text).toMatch(/^([A-Z][a-z]*( [a-z]+)+\. ?)+$/);
    expect(answer.tokens.length).toBeGreaterThanOrEqual(25);
    expect(answer.tokens.join('')).toBe(answer.text);
    expect(countTokens(answer.text)).toBe(answer.tokens.length);
  });
});

describe('requestSeed', () => {
  it.each([
    ['the deployment', 'gpt-4o-mini', [{ role: 'user', content: 'hi' }]],
    ['the messages', 'gpt-4o', [{ role: 'user', content: 'hello' }]],
  ])('depends on %s', (_what, deployment, messages) => {
    expect(requestSeed(deployment, messages)).not.toBe(requestSeed('gpt-4o', [{ role: 'user', content: 'hi' }]));
  });
});

describe('countPromptTokens', () => {
  it.each([
    [
      'a string content',
      [{ role: 'user', content: 'Hello there' }],
      3 + 3 + countTokens('user') + countTokens('Hello there'),
    ],
    [
      'text parts',
      [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
      3 + 3 + countTokens('user') + countTokens('Hello there'),
    ],
    [
      'a name',
      [{ role: 'user', name: 'ann', content: 'x' }],
      3 + 3 + countTokens('user') + countTokens('ann') + 1 + countTokens('x'),
    ],
  ])('counts %s the way OpenAI does', (_what, messages, expected) => {
    expect(countPromptTokens(messages)).toBe(expected);
  });
});

describe('cutAnswer', () => {
  const full = { tokens: ['A', ' b', ' c', ' d', '.'], text: 'A b c d.' };
  it.each([
    { maxTokens: undefined, filter: false, tokens: 5, finishReason: 'stop' },
    { maxTokens: 5, filter: false, tokens: 5, finishReason: 'stop' },
    { maxTokens: 3, filter: false, tokens: 3, finishReason: 'length' },
    { maxTokens: undefined, filter: true, tokens: 3, finishReason: 'content_filter' },
    { maxTokens: 2, filter: true, tokens: 1, finishReason: 'content_filter' },
  ])(
    'sends $tokens tokens with $finishReason for max $maxTokens, filter $filter',
    ({ maxTokens, filter, tokens, finishReason }) => {
      const cut = cutAnswer(full, maxTokens, filter);
      expect(cut.tokens).toHaveLength(tokens);
      expect(cut.finishReason).toBe(finishReason);
    },
  );
});
