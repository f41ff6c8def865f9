/**
 * Continuing a streamed answer that broke after its first byte: the request that asks
 * another region for the rest, and the token usage of an answer served in parts.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';

/**
 * The instruction after the partial answer. Why this shape on Azure OpenAI's chat completions: they
 * have no assistant prefill (a last assistant message is taken as a finished turn, not as text to
 * extend), so the partial text goes in as the assistant's own previous message (the model continues
 * its own words rather than quoting a user's), and a user turn says what to do, since the last user
 * message is what chat models follow most closely (a system message at the end is followed less
 * reliably). It asks for the rest only; models still sometimes say the last words again, which
 * resilience/overlap.ts removes.
 */
export const CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it exactly where it stopped, even mid-sentence or mid-word: ' +
  'reply with the rest only, without repeating any of it and without adding anything before it.';

/** The messages that ask for the rest of `partial`; the original messages when nothing reached the client. */
export function continuationMessages(
  messages: readonly ChatCompletionMessageParam[],
  partial: string,
): ChatCompletionMessageParam[] {
  if (partial === '') return [...messages];
  return [...messages, { role: 'assistant', content: partial }, { role: 'user', content: CONTINUE_INSTRUCTION }];
}

/** One upstream call's share of an answer, for {@link totalUsage}. */
export interface PartUsage {
  /** What the call reported; a call that broke reports nothing. */
  readonly usage?: CompletionUsage;
  /** Chunks with answer text it sent (Azure streams one token per chunk). */
  readonly contentChunks: number;
}

/**
 * The usage of every call that served the answer, added up; undefined when the last call reported
 * none (as for an unbroken stream without it). A call that broke before its usage chunk is still
 * billed, so it is estimated: its chunks as completion tokens, and as prompt tokens the next call's
 * prompt less those chunks (the next prompt is the same prompt plus the partial answer). The estimate
 * errs high by the instruction's few tokens for the first call.
 */
export function totalUsage(parts: readonly PartUsage[]): CompletionUsage | undefined {
  if (parts.at(-1)?.usage === undefined) return undefined;
  let prompt = 0;
  let completion = 0;
  let nextPrompt = 0;
  for (const part of [...parts].reverse()) {
    const partPrompt = part.usage?.prompt_tokens ?? Math.max(0, nextPrompt - part.contentChunks);
    prompt += partPrompt;
    completion += part.usage?.completion_tokens ?? part.contentChunks;
    nextPrompt = partPrompt;
  }
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Why a stream broke after its first byte. */
export type BreakReason =
  /** The connection failed or the region sent an error event. */
  | 'reset'
  /** Nothing came for longer than the stream idle limit. */
  | 'stall'
  /** The stream ended without a finish reason. */
  | 'ended-early'
  /** The request deadline cut it (never continued). */
  | 'deadline';

/** Which region served which part of a streamed answer, as clients and telemetry are told. */
export interface AnswerPart {
  readonly region: string;
  /** Characters of the answer text this part sent to the client (overlap removed). */
  readonly chars: number;
  /** How the part ended: `finished` (with a finish reason), `open` (still streaming or abandoned), or why it broke. */
  readonly ended: 'finished' | 'open' | BreakReason;
}
