/** The pure decisions about a client that resends its history: where the new turn starts, and when two histories are one. */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { carriesHistory, fingerprint, splitResent } from '../../shared/conversations';

const system = { role: 'system', content: 'Be brief.' } as const;
const q1 = { role: 'user', content: 'one' } as const;
const a1 = { role: 'assistant', content: 'answer one' } as const;
const q2 = { role: 'user', content: 'two' } as const;

describe('splitResent', () => {
  it.each([
    ['a first question', [q1], [], [q1]],
    ['a system message and a first question', [system, q1], [], [system, q1]],
    ['a resent history and a new question', [system, q1, a1, q2], [system, q1, a1], [q2]],
    ['a question asked again after a failure', [q1, a1, q2, q2], [q1, a1], [q2, q2]],
    ['nothing after the last answer', [q1, a1], [q1, a1], []],
  ] as const)('splits %s', (_name, messages, history, turn) => {
    expect(splitResent(messages)).toEqual({ history, turn });
    expect(carriesHistory(messages)).toBe(history.length > 0);
  });
});

describe('fingerprint', () => {
  const base: ChatCompletionMessageParam[] = [system, q1, a1];
  it.each<[string, ChatCompletionMessageParam[]]>([
    ['the answer as the SDK returns it', [system, q1, { ...a1, refusal: null }]],
    ['text parts for the question', [system, { role: 'user', content: [{ type: 'text', text: 'one' }] }, a1]],
    ['spaces around an answer', [system, q1, { role: 'assistant', content: ' answer one\n' }]],
    ['a developer message for the system one', [{ role: 'developer', content: 'Be brief.' }, q1, a1]],
    ['a name on the user message', [system, { ...q1, name: 'alice' }, a1]],
  ])('is the same for %s', (_name, messages) => {
    expect(fingerprint(messages)).toBe(fingerprint(base));
  });

  it.each<[string, ChatCompletionMessageParam[]]>([
    ['another answer', [system, q1, { role: 'assistant', content: 'answer 1' }]],
    ['no system message', [q1, a1]],
    ['the roles swapped', [system, { role: 'assistant', content: 'one' }, { role: 'user', content: 'answer one' }]],
    ['a message more', [system, q1, a1, q2]],
    [
      'texts moved across messages',
      [system, { role: 'user', content: 'on' }, { role: 'assistant', content: 'eanswer one' }],
    ],
    [
      'an image beside the text',
      [
        system,
        {
          role: 'user',
          content: [
            { type: 'text', text: 'one' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
          ],
        },
        a1,
      ],
    ],
  ])('differs for %s', (_name, messages) => {
    expect(fingerprint(messages)).not.toBe(fingerprint(base));
  });
});
