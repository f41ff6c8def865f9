import { describe, expect, it } from 'vitest';
import { continuationMessages, CONTINUE_INSTRUCTION, totalUsage } from '../../shared/continuation';

const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

describe('continuationMessages', () => {
  const question = [{ role: 'user' as const, content: 'Hello there' }];

  it('asks for the rest with the partial answer as the assistant turn and an instruction after it', () => {
    expect(continuationMessages(question, 'The model returns')).toEqual([
      ...question,
      { role: 'assistant', content: 'The model returns' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
    // The simulator (like a model) recognises the request by this word.
    expect(CONTINUE_INSTRUCTION).toMatch(/continu/i);
  });

  it('asks the question again when no text had reached the client', () => {
    expect(continuationMessages(question, '')).toEqual(question);
  });
});

describe('totalUsage', () => {
  it.each([
    ['one call that reported', [{ usage: usage(10, 40), contentChunks: 40 }], usage(10, 40)],
    [
      'a broken call estimated from the call that continued it',
      [{ contentChunks: 5 }, { usage: usage(30, 35), contentChunks: 35 }],
      usage(25 + 30, 5 + 35),
    ],
    [
      'two broken calls before the last',
      [{ contentChunks: 5 }, { contentChunks: 10 }, { usage: usage(40, 25), contentChunks: 25 }],
      usage(25 + 30 + 40, 5 + 10 + 25),
    ],
    ['a last call that reported nothing', [{ usage: usage(10, 5), contentChunks: 5 }, { contentChunks: 3 }], undefined],
  ])('adds up %s', (_name, parts, expected) => {
    expect(totalUsage(parts)).toEqual(expected);
  });
});
