/**
 * Fitting a conversation into the context window with tool calls in it: a call and its results are kept
 * or dropped together, and what is sent never has a call without its results or a result without its call.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import type { ChatError } from '../../shared/errors';
import { fitToContext, REPLY_PRIMING_TOKENS, type CountedMessage } from '../../shared/conversations/trim';

const user = (turn: number, content: string): CountedMessage => ({
  message: { role: 'user', content },
  tokens: 10,
  turn,
});
const text = (turn: number, content: string): CountedMessage => ({
  message: { role: 'assistant', content },
  tokens: 10,
  turn,
});
const calls = (turn: number, ...ids: string[]): CountedMessage => ({
  message: {
    role: 'assistant',
    content: null,
    tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'get_time', arguments: '{}' } })),
  },
  tokens: 10,
  turn,
});
const result = (turn: number, id: string): CountedMessage => ({
  message: { role: 'tool', tool_call_id: id, content: '12:00' },
  tokens: 10,
  turn,
});

/** A short label per message: u, a (text), c:<ids> (calls), t:<id> (result). */
function shape(messages: readonly ChatCompletionMessageParam[]): string[] {
  return messages.map((m) => {
    if (m.role === 'tool') return `t:${m.tool_call_id}`;
    if (m.role === 'assistant' && m.tool_calls) return `c:${m.tool_calls.map((c) => c.id).join(',')}`;
    return m.role === 'assistant' ? 'a' : 'u';
  });
}

const budgetFor = (messages: number) => REPLY_PRIMING_TOKENS + messages * 10;

describe('fitToContext with tool calls', () => {
  it('keeps the turn with the calls when the new turn brings their results, dropping older turns first', () => {
    const history = [user(1, 'hi'), text(1, 'hello'), user(2, 'get_time'), calls(2, 'c1', 'c2')];
    const fitted = fitToContext({ history, turn: [result(3, 'c1'), result(3, 'c2')], budget: budgetFor(4) });
    expect(shape(fitted.messages)).toEqual(['u', 'c:c1,c2', 't:c1', 't:c2']);
    expect(fitted.dropped).toBe(2);
  });

  it('refuses (context_length_exceeded) rather than send results without their calls', () => {
    const history = [user(1, 'get_time'), calls(1, 'c1')];
    expect(() => fitToContext({ history, turn: [result(2, 'c1')], budget: budgetFor(2) })).toThrow(
      expect.objectContaining({ code: 'context_length_exceeded' }) as ChatError,
    );
  });

  it('drops a results turn together with the turn whose calls it answers', () => {
    const history = [user(1, 'get_time'), calls(1, 'c1'), result(2, 'c1'), text(2, 'It is noon.')];
    // Room for the results turn but not for the calls before it: both go.
    const fitted = fitToContext({ history, turn: [user(3, 'thanks')], budget: budgetFor(3) });
    expect(shape(fitted.messages)).toEqual(['u']);
    expect(fitted.dropped).toBe(4);
    const roomy = fitToContext({ history, turn: [user(3, 'thanks')], budget: budgetFor(5) });
    expect(shape(roomy.messages)).toEqual(['u', 'c:c1', 't:c1', 'a', 'u']);
  });

  it('sends a stored call the client never answered without its tool_calls (its text kept)', () => {
    const withText: CountedMessage = {
      ...calls(1, 'c1'),
      message: { ...(calls(1, 'c1').message as object), content: 'Let me look.' } as ChatCompletionMessageParam,
    };
    const history = [user(1, 'get_time'), calls(1, 'c1'), user(2, 'never mind'), withText];
    const fitted = fitToContext({ history, turn: [user(3, 'hello')], budget: budgetFor(10) });
    expect(shape(fitted.messages)).toEqual(['u', 'u', 'a', 'u']);
    expect(fitted.messages[2]).toEqual({ role: 'assistant', content: 'Let me look.' });
  });

  it('refuses a tool message that answers no call before it (400, not a 400 from Azure)', () => {
    const history = [user(1, 'hi'), text(1, 'hello')];
    expect(() => fitToContext({ history, turn: [result(2, 'nope')], budget: budgetFor(10) })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }) as ChatError,
    );
  });
});
