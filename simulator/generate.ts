import { createHash } from 'node:crypto';
import type { FinishReason } from './chat';
import { tokenizer } from './tokens';

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
