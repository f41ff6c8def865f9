/**
 * Token counts with o200k_base, the tokenizer of the gpt-4o family: the simulator's usage numbers, and the
 * backend's trimming of a conversation to the model's context window (shared/conversations). Importing this
 * module loads the rank table (a few MB) and the first count builds the encoder (~0.9 s): the backend loads
 * it with a dynamic import on first use, never on the entry's import path.
 *
 * Counting is bounded, because the text is untrusted. js-tiktoken merges each word (a run between whitespace) in
 * time that grows with the square of its bytes, so a long run without whitespace is slow: 100,000 characters of
 * `用户` took 33 s in one call, 20,000 of Thai 11 s, while 100,000 of English take 0.2 s. So text is counted in
 * pieces whose runs are at most {@link RUN_CHARS} characters (a cut inside a run can add a token per cut; ordinary
 * text is cut at whitespace and counts the same), each piece costs (bytes of each run)² units of a per-request
 * {@link CountBudget}, and once the budget is spent the rest of the text is estimated from its characters
 * (./token-bound.ts): the count trims a conversation to the context and prices a dropped stream's prompt, where a
 * close guess serves better than a bound three times too high; the quota reserves the bound before any of this.
 * The async forms yield to the event loop between pieces, so no request holds it for more than a piece's time.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { estimateTokens } from './token-bound';

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
/** Longest run without whitespace encoded at once, UTF-16 units: a run of 32 CJK characters encodes in about 1 ms. */
export const RUN_CHARS = 32;
/**
 * Cost units one request may spend on exact counts (a piece costs the sum of its runs' bytes squared): about
 * 80,000 characters of English, 1,700 of CJK or Thai: some tens of ms of work in pieces of about 1 ms (the
 * bench's `token-count` phase measures it per script). Past it, an estimate.
 */
export const EXACT_COUNT_UNITS = 500_000;
/** How long the async forms run before they yield to the event loop, ms. */
const SLICE_MS = 2;

/** What is left of one request's allowance for exact counting; share it across the texts of the request. */
export interface CountBudget {
  units: number;
}

export function countBudget(units: number = EXACT_COUNT_UNITS): CountBudget {
  return { units };
}

/** Number of o200k_base tokens in `text`: exact while `budget` lasts, estimated past it. */
export function countTokens(text: string, budget: CountBudget = countBudget()): number {
  return run(counting(text, budget));
}

/** {@link countTokens}, yielding to the event loop every few milliseconds. */
export function countTokensAsync(text: string, budget: CountBudget = countBudget()): Promise<number> {
  return runAsync(counting(text, budget));
}

/**
 * Prompt tokens the way OpenAI's cookbook counts them for gpt-4o style models: 3 tokens of framing per
 * message, the tokens of its role, content and name (+1 for a name), and 3 tokens priming the reply.
 * Exact while `budget` lasts (one budget for all the messages), estimated past it.
 */
export function countPromptTokens(messages: readonly unknown[], budget: CountBudget = countBudget()): number {
  return run(promptCounting(messages, budget));
}

/** {@link countPromptTokens}, yielding to the event loop every few milliseconds. */
export function countPromptTokensAsync(
  messages: readonly unknown[],
  budget: CountBudget = countBudget(),
): Promise<number> {
  return runAsync(promptCounting(messages, budget));
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

/** A count that yields (nothing) between pieces and returns the total. */
type Counting = Generator<void, number>;

function* promptCounting(messages: readonly unknown[], budget: CountBudget): Counting {
  let total = 3;
  for (const message of messages) {
    total += 3;
    if (typeof message !== 'object' || message === null) continue;
    for (const [key, value] of Object.entries(message)) {
      if (key === 'content') total += yield* counting(contentText(value), budget);
      else if (typeof value === 'string') total += (yield* counting(value, budget)) + (key === 'name' ? 1 : 0);
    }
  }
  return total;
}

function* counting(text: string, budget: CountBudget): Counting {
  let total = 0;
  for (let start = 0; start < text.length;) {
    const piece = nextPiece(text, start);
    if (piece.cost > budget.units) return total + estimateTokens(text.slice(start));
    budget.units -= piece.cost;
    total += tokenizer().encode(text.slice(start, piece.end)).length;
    start = piece.end;
    yield;
  }
  return total;
}

/**
 * Where the piece starting at `start` ends, and its cost. A piece is at most PIECE_CHARS long, ends before the
 * last whitespace in it when the text goes on (o200k_base's words start with their space), and ends before a
 * run of more than RUN_CHARS without whitespace, or cuts such a run when the piece starts with it.
 */
function nextPiece(text: string, start: number): { end: number; cost: number } {
  const limit = Math.min(text.length, start + PIECE_CHARS);
  let cost = 0;
  let runStart = start;
  let runBytes = 0;
  let lastSpace = -1;
  let end = limit;
  for (let i = start; i < limit; i++) {
    const code = text.charCodeAt(i);
    if (isWhitespace(code)) {
      cost += runBytes * runBytes;
      runBytes = 0;
      runStart = i + 1;
      if (code === 0x20) lastSpace = i;
      continue;
    }
    if (i - runStart >= RUN_CHARS) {
      // The run is left for the next piece (with its leading whitespace), unless this piece starts with it.
      end = runStart > start + 1 ? runStart - 1 : atCodePoint(text, i, start);
      break;
    }
    runBytes += utf8Bytes(code);
  }
  if (end === limit && limit < text.length && lastSpace > start) {
    end = lastSpace;
    return { end, cost: costOf(text, start, end) };
  }
  return { end, cost: end === limit ? cost + runBytes * runBytes : costOf(text, start, end) };
}

/** The cost of text[start, end): each run's UTF-8 bytes, squared. */
function costOf(text: string, start: number, end: number): number {
  let cost = 0;
  let run = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (isWhitespace(code)) {
      cost += run * run;
      run = 0;
    } else run += utf8Bytes(code);
  }
  return cost + run * run;
}

/** `at`, moved back off the middle of a surrogate pair (a cut there would make two invalid characters). */
function atCodePoint(text: string, at: number, start: number): number {
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff && at - 1 > start ? at - 1 : at;
}

/** UTF-8 bytes of one UTF-16 unit (a surrogate pair is 4 bytes: 2 each). */
function utf8Bytes(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 2;
  return 3;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000;
}

function run(counting: Counting): number {
  for (;;) {
    const step = counting.next();
    if (step.done === true) return step.value;
  }
}

async function runAsync(counting: Counting): Promise<number> {
  let sliceStart = performance.now();
  for (;;) {
    const step = counting.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
