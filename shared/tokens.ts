/**
 * Token counts with o200k_base, the tokenizer of the gpt-4o family: the simulator's usage numbers, and the
 * backend's trimming of a conversation to the model's context window (shared/conversations). Importing this
 * module loads the rank table (a few MB) and the first count builds the encoder (~0.9 s): the backend loads
 * it with a dynamic import on first use, never on the entry's import path.
 */
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

/** Longest piece encoded at once, characters. */
const PIECE_CHARS = 200;

/**
 * Number of o200k_base tokens in `text`. js-tiktoken slows down sharply on long runs without
 * whitespace (16,000 x "x" took ~26 s in one piece and blocked the simulated region; ~0.4 s in pieces), so text is encoded in pieces
 * of at most PIECE_CHARS, cut after whitespace where there is some. A cut can shift the count by a
 * token per piece on such runs; ordinary text is cut at word boundaries and counts the same.
 */
export function countTokens(text: string): number {
  let total = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + PIECE_CHARS);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start) end = space;
    }
    total += tokenizer().encode(text.slice(start, end)).length;
    start = end;
  }
  return total;
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
