import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';

// Every deployment is counted with o200k_base (gpt-4o, gpt-4.1, o-series); older gpt-4/gpt-35 models used
// cl100k_base, but loading a second rank table costs time for no test that needs it.
let encoder: Tiktoken | undefined;

/** The o200k_base tokenizer, built on first use (building it takes a noticeable fraction of a second). */
export function tokenizer(): Tiktoken {
  encoder ??= new Tiktoken(o200kBase);
  return encoder;
}

/** Number of o200k_base tokens in `text`. */
export function countTokens(text: string): number {
  return tokenizer().encode(text).length;
}

/** Text of a message's `content`: a string, or the `text` of its text parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : '',
    )
    .join('');
}

/**
 * Prompt tokens the way OpenAI's cookbook counts them for gpt-4o style models: 3 tokens of framing per
 * message, the tokens of its role, content and name (+1 for a name), and 3 tokens priming the reply.
 */
export function countPromptTokens(messages: readonly unknown[]): number {
  let total = 3;
  for (const message of messages) {
    total += 3;
    if (typeof message !== 'object' || message === null) continue;
    for (const [key, value] of Object.entries(message)) {
      if (key === 'content') total += countTokens(contentText(value));
      else if (typeof value === 'string') total += countTokens(value) + (key === 'name' ? 1 : 0);
    }
  }
  return total;
}
