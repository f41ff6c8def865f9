import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { continuationOf, generateAnswer, requestSeed } from '../../simulator/generate';
import { client, hello, useSimulator } from './fixture';

const start = useSimulator();
const CONTINUE = 'Continue your previous answer exactly where it stopped.';

/** The answer the simulator gives `messages`, whole, with the official openai client. */
async function answerOf(
  options: Parameters<typeof start>[0],
  messages: readonly ChatCompletionMessageParam[],
): Promise<string> {
  const s = await start(options);
  const completion = await client(s).chat.completions.create({ model: 'gpt-4o', messages: [...messages] });
  return completion.choices[0]?.message.content ?? '';
}

describe('continuing a partial answer', () => {
  it.each([1, 2, 5, 20])(
    'continues its own answer after %i tokens so the two parts make the unbroken answer',
    async (tokens) => {
      const s = await start();
      const full = await client(s).chat.completions.create({ model: 'gpt-4o', messages: hello });
      const whole = full.choices[0]?.message.content ?? '';
      const partial = generateAnswer(requestSeed('gpt-4o', hello), 40).tokens.slice(0, tokens).join('');
      expect(whole.startsWith(partial)).toBe(true);

      const stream = await client(s).chat.completions.create({
        model: 'gpt-4o',
        messages: [...hello, { role: 'assistant', content: partial }, { role: 'user', content: CONTINUE }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let rest = '';
      let completionTokens = 0;
      for await (const chunk of stream) {
        rest += chunk.choices[0]?.delta?.content ?? '';
        completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
      }
      expect(partial + rest).toBe(whole);
      expect(completionTokens).toBeGreaterThan(0);
    },
  );

  it('continues after an assistant prefill with no instruction after it', async () => {
    const whole = await answerOf({}, hello);
    const partial = whole.slice(0, whole.indexOf(' ', 10));
    const rest = await answerOf({}, [...hello, { role: 'assistant', content: partial }]);
    expect(partial + rest).toBe(whole);
  });

  it('repeats the last words of the partial answer first when asked to, as real models sometimes do', async () => {
    const whole = await answerOf({}, hello);
    const partial = whole.split(' ').slice(0, 6).join(' ');
    const messages = [
      ...hello,
      { role: 'assistant' as const, content: partial },
      { role: 'user' as const, content: CONTINUE },
    ];
    const rest = await answerOf({ continuationRepeatWords: 2 }, messages);
    const repeated = partial.split(' ').slice(-2).join(' ');
    expect(rest.startsWith(` ${repeated}`)).toBe(true);
    expect(partial + rest.slice(repeated.length + 1)).toBe(whole);
  });

  it('answers a multi-turn conversation afresh, even when it holds an earlier answer', async () => {
    const whole = await answerOf({}, hello);
    const turn = [...hello, { role: 'assistant' as const, content: whole }, { role: 'user' as const, content: 'Why?' }];
    const partialTurn = [
      ...hello,
      { role: 'assistant' as const, content: whole.slice(0, 20) },
      { role: 'user' as const, content: 'Why?' },
    ];
    expect(continuationOf({ deployment: 'gpt-4o', messages: turn, answerTokens: 40, repeatWords: 0 })).toBeUndefined();
    expect(
      continuationOf({ deployment: 'gpt-4o', messages: partialTurn, answerTokens: 40, repeatWords: 0 }),
    ).toBeUndefined();
    expect(await answerOf({}, turn)).toBe(generateAnswer(requestSeed('gpt-4o', turn), 40).text);
  });

  it('answers afresh when the assistant text is not the start of its own answer', () => {
    const messages = [
      ...hello,
      { role: 'assistant', content: 'Something else entirely' },
      { role: 'user', content: CONTINUE },
    ];
    expect(continuationOf({ deployment: 'gpt-4o', messages, answerTokens: 40, repeatWords: 0 })).toBeUndefined();
  });
});
