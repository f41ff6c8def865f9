import { createHash } from 'node:crypto';
import type { FinishReason } from './chat';
import { contentText, tokenizer } from './tokens';
import { toolResultsPreamble, trailingToolResults } from './tools';

// Small fixed vocabularies: answers read like plain English and every word is a common single token,
// so token counts stay predictable.
const SUBJECTS = ['The model', 'The service', 'A region', 'The request', 'The answer', 'Each client', 'The backend'];
const VERBS = ['returns', 'checks', 'sends', 'keeps', 'finds', 'reads', 'builds', 'moves', 'shows', 'handles'];
const ADJECTIVES = ['simple', 'quick', 'clear', 'small', 'useful', 'careful', 'steady', 'new', 'short', 'good'];
const NOUNS = ['result', 'message', 'stream', 'token', 'value', 'record', 'answer', 'signal', 'limit', 'report'];
const ENDINGS = [
  'for every user',
  'in a few seconds',
  'before the next step',
  'with little delay',
  'when the time comes',
  'as expected',
  'without any fuss',
  'on each call',
];

/** A deterministic answer, split the way the tokenizer splits it. */
export interface GeneratedAnswer {
  /** Text of each token; joined they give `text`. */
  readonly tokens: readonly string[];
  readonly text: string;
}

/** Seed for {@link generateAnswer}: the same deployment and messages give the same seed. */
export function requestSeed(deployment: string, messages: readonly unknown[]): number {
  const digest = createHash('sha256').update(deployment).update('\n').update(JSON.stringify(messages)).digest();
  return digest.readUInt32BE(0);
}

/**
 * English-ish sentences from a seeded pseudo-random generator, at least `minTokens` long (whole sentences).
 * A request that caps the answer gets a prefix of the same answer, as a real model would cut it.
 */
export function generateAnswer(seed: number, minTokens: number): GeneratedAnswer {
  const random = mulberry32(seed);
  const pick = (words: readonly string[]): string => words[Math.floor(random() * words.length)] ?? '';
  const sentences: string[] = [];
  let ids: number[] = [];
  do {
    sentences.push(`${pick(SUBJECTS)} ${pick(VERBS)} a ${pick(ADJECTIVES)} ${pick(NOUNS)} ${pick(ENDINGS)}.`);
    ids = tokenizer().encode(sentences.join(' '));
  } while (ids.length < minTokens);
  const tokens = ids.map((id) => tokenizer().decode([id]));
  return { tokens, text: tokens.join('') };
}

/**
 * The answer `messages` get from `deployment`: generated text, opened by what the tools returned when the
 * conversation ends with tool results (so a client sees its result used).
 */
export function answerTo(
  deployment: string,
  messages: readonly Readonly<Record<string, unknown>>[],
  minTokens: number,
): GeneratedAnswer {
  const generated = generateAnswer(requestSeed(deployment, messages), minTokens);
  const results = trailingToolResults(messages);
  if (results.length === 0) return generated;
  return tokenized(`${toolResultsPreamble(results)} ${generated.text}`);
}

/** `text` split the way the tokenizer splits it. */
export function tokenized(text: string): GeneratedAnswer {
  const tokens = tokenizer()
    .encode(text)
    .map((id) => tokenizer().decode([id]));
  return { tokens, text: tokens.join('') };
}

/** A request that may ask to continue an answer: see {@link continuationOf}. */
export interface ContinuationRequest {
  readonly deployment: string;
  readonly messages: readonly Readonly<Record<string, unknown>>[];
  /** Length of a full answer in tokens, as for {@link generateAnswer}. */
  readonly answerTokens: number;
  /** Words of the partial answer to say again first, as real models sometimes do. */
  readonly repeatWords: number;
}

/** A user or system message asking to go on with an answer ("Continue ...", "... continue exactly ..."). */
const CONTINUE_INSTRUCTION = /\bcontinu/i;

/**
 * The rest of an answer, when the request asks to continue one: its messages end with an assistant message
 * (prefill), or with an assistant message and then an instruction to continue, and that assistant text is
 * the beginning, not the whole, of the answer the messages before it get. As a model that follows the
 * instruction, the simulator then sends the same answer from where the partial one stopped, so a client
 * that stitches the two gets the unbroken answer byte for byte (with `repeatWords` > 0, minus the overlap).
 * Undefined for every other request, a multi-turn conversation included.
 */
export function continuationOf(request: ContinuationRequest): GeneratedAnswer | undefined {
  const { messages } = request;
  const last = messages.at(-1);
  const partialIndex = last?.['role'] === 'assistant' ? messages.length - 1 : messages.length - 2;
  const partial = messages[partialIndex];
  if (partial?.['role'] !== 'assistant') return undefined;
  if (partialIndex !== messages.length - 1 && !CONTINUE_INSTRUCTION.test(contentText(last?.['content']))) {
    return undefined;
  }
  const partialText = contentText(partial['content']);
  const original = answerTo(request.deployment, messages.slice(0, partialIndex), request.answerTokens);
  if (partialText === '' || partialText.length >= original.text.length || !original.text.startsWith(partialText)) {
    return undefined;
  }
  return tokenized(repeatedWords(partialText, request.repeatWords) + original.text.slice(partialText.length));
}

/** The last `count` words of `text`, with the white space before each, as a model repeats them. */
function repeatedWords(text: string, count: number): string {
  if (count <= 0) return '';
  const starts = [...text.matchAll(/\s*\S+/g)].map((m) => m.index);
  return text.slice(starts.at(-count) ?? 0);
}

/**
 * The part of `full` actually sent: at most `maxTokens` tokens (finish_reason `length` when that cuts it), and
 * only the first half when the output filter fires, as Azure's asynchronous filter stops an answer part way.
 */
export function cutAnswer(
  full: GeneratedAnswer,
  maxTokens: number | undefined,
  filterOutput: boolean,
): { readonly tokens: readonly string[]; readonly finishReason: FinishReason } {
  const tokens = full.tokens.slice(0, maxTokens ?? full.tokens.length);
  if (filterOutput) return { tokens: tokens.slice(0, Math.ceil(tokens.length / 2)), finishReason: 'content_filter' };
  return { tokens, finishReason: tokens.length < full.tokens.length ? 'length' : 'stop' };
}

/** Small, well-known 32-bit PRNG; quality is irrelevant here, only reproducibility. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
