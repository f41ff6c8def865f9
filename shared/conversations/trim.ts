/**
 * Fitting a conversation into the model's context window: the pure decision of which stored messages go
 * to the model. Every message carries its token count (counted once, when it was stored); the new turn
 * and the system message always go, then whole earlier turns from the newest back while they fit, so
 * the oldest turns are dropped first.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ChatError } from '../errors';

/** A message with its cost in prompt tokens (content and role, plus the 3 tokens of framing each message takes). */
export interface CountedMessage {
  readonly message: ChatCompletionMessageParam;
  readonly tokens: number;
  /** The turn it belongs to: earlier turns are dropped whole. */
  readonly turn: number;
}

/** The tokens priming the reply, counted once per request (OpenAI's cookbook count for gpt-4o models). */
export const REPLY_PRIMING_TOKENS = 3;

export interface FitOptions {
  /** Stored messages of earlier turns, in order. */
  readonly history: readonly CountedMessage[];
  /** The new turn's messages (the request's), in order. */
  readonly turn: readonly CountedMessage[];
  /** Prompt tokens the model may be sent: its context window minus the tokens reserved for the answer. */
  readonly budget: number;
}

export interface Fitted {
  readonly messages: ChatCompletionMessageParam[];
  /** Prompt tokens of `messages`. */
  readonly tokens: number;
  /** Earlier messages left out. */
  readonly dropped: number;
}

const isSystem = (m: CountedMessage) => m.message.role === 'system' || m.message.role === 'developer';

/**
 * The messages to send: the latest system (or developer) message first, the earlier turns that fit
 * (newest kept), the new turn last. Throws `context_length_exceeded` when the system message and the
 * new turn alone are over the budget: no model call could succeed.
 */
export function fitToContext(options: FitOptions): Fitted {
  const all = [...options.history, ...options.turn];
  const system = all.filter(isSystem).at(-1);
  const turn = options.turn.filter((m) => !isSystem(m));
  let tokens = REPLY_PRIMING_TOKENS + (system?.tokens ?? 0) + sum(turn);
  if (tokens > options.budget) {
    throw new ChatError('context_length_exceeded', {
      message: `The message is too long for the model: ${tokens} prompt tokens, at most ${options.budget}. Send a shorter message or a smaller max_tokens.`,
    });
  }
  const earlier = groupByTurn(options.history.filter((m) => !isSystem(m)));
  const kept: CountedMessage[][] = [];
  for (let i = earlier.length - 1; i >= 0; i--) {
    const group = earlier[i] ?? [];
    if (tokens + sum(group) > options.budget) break;
    tokens += sum(group);
    kept.unshift(group);
  }
  const keptCount = kept.reduce((n, g) => n + g.length, 0);
  const messages = [...(system ? [system] : []), ...kept.flat(), ...turn].map((m) => m.message);
  return { messages, tokens, dropped: earlier.reduce((n, g) => n + g.length, 0) - keptCount };
}

function sum(messages: readonly CountedMessage[]): number {
  return messages.reduce((n, m) => n + m.tokens, 0);
}

function groupByTurn(messages: readonly CountedMessage[]): CountedMessage[][] {
  const groups: CountedMessage[][] = [];
  for (const message of messages) {
    const last = groups.at(-1);
    if (last && last[0]?.turn === message.turn) last.push(message);
    else groups.push([message]);
  }
  return groups;
}
