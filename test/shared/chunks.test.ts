import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { isForwardable, nextForwardable, withDeltas } from '../../shared/chunks';

function chunk(choices: unknown[], usage: unknown = null): ChatCompletionChunk {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'gpt-4o',
    choices,
    usage,
  } as ChatCompletionChunk;
}

describe('chunks', () => {
  it.each([
    ["Azure's opening prompt-filter chunk", chunk([]), false],
    ['a content chunk', chunk([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]), true],
    ['the usage chunk', chunk([], { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }), true],
  ])('%s is forwardable: %s', (_name, value, expected) => {
    expect(isForwardable(value)).toBe(expected);
  });

  it("gives Azure's filter verdict choice an empty delta without changing the chunk it was given", () => {
    const verdict = chunk([{ index: 0, finish_reason: 'content_filter', content_filter_results: {} }]);
    const before = JSON.stringify(verdict);
    const fixed = withDeltas(verdict);
    expect(fixed.choices[0]?.delta).toEqual({});
    expect(JSON.stringify(verdict)).toBe(before);
  });

  it('skips to the first chunk worth forwarding', async () => {
    const chunks = [chunk([]), chunk([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }])];
    const first = await nextForwardable(chunks[Symbol.iterator]() as unknown as AsyncIterator<ChatCompletionChunk>);
    expect(first?.choices[0]?.delta.content).toBe('Hi');
  });
});
