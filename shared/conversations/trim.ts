/**
 * Fitting a conversation into the model's context window: the pure decision of which stored messages go
 * to the model. Every message carries its token count (counted once, when it was stored); the new turn
 * and the system message always go, then whole earlier turns from the newest back while they fit, so
 * the oldest turns are dropped first. A tool call and its result always go together: a turn that starts with
 * tool results (the client's answer to the calls of the turn before) is dropped or kept with that turn, and
 * a call whose results are not in what is sent is sent without its `tool_calls`, as Azure refuses a call
 * without its results and a result without its call (400).
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
 * new turn alone (with the turn whose calls it answers) are over the budget: no model call could succeed;
 * `invalid_request` when the new turn answers a tool call the conversation does not have.
 */
export function fitToContext(options: FitOptions): Fitted {
  const all = [...options.history, ...options.turn];
  const system = all.filter(isSystem).at(-1);
  const turn = options.turn.filter((m) => !isSystem(m));
  const earlier = groupByTurn(options.history.filter((m) => !isSystem(m)));
  // Tool results in the new turn need the turn with their calls, whatever it costs.
  const needed = turn[0]?.message.role === 'tool' ? (earlier.pop() ?? []) : [];
  let tokens = REPLY_PRIMING_TOKENS + (system?.tokens ?? 0) + sum(needed) + sum(turn);
  if (tokens > options.budget) {
    throw new ChatError('context_length_exceeded', {
      message: `The message is too long for the model: ${tokens} prompt tokens, at most ${options.budget}. Send a shorter message or a smaller max_tokens.`,
    });
  }
  const kept: CountedMessage[][] = [];
  for (let i = earlier.length - 1; i >= 0; i--) {
    const group = earlier[i] ?? [];
    if (tokens + sum(group) > options.budget) break;
    tokens += sum(group);
    kept.unshift(group);
  }
  const orphan = unansweredResults([...needed, ...turn].map((m) => m.message));
  if (orphan !== undefined) {
    throw new ChatError('invalid_request', {
      message: `The request is invalid: a tool message answers tool_call_id "${orphan.slice(0, 64)}", which no assistant message just before it calls.`,
      fields: [{ path: 'messages', message: 'a tool message must follow the assistant message with its call' }],
    });
  }
  const history = pairToolCalls([...kept.flat(), ...needed], turn[0]?.message.role === 'tool' ? turn : []);
  const keptCount = kept.reduce((n, g) => n + g.length, 0) + needed.length;
  const messages = [...(system ? [system.message] : []), ...history, ...turn.map((m) => m.message)];
  const total = earlier.reduce((n, g) => n + g.length, 0) + needed.length;
  return { messages, tokens, dropped: total - keptCount };
}

type Message = ChatCompletionMessageParam;

/** The ids of the calls an assistant message makes. */
function callIds(message: Message | undefined): string[] {
  return message?.role === 'assistant' ? (message.tool_calls ?? []).map((c) => c.id) : [];
}

/**
 * The first `tool` message's id that does not answer a call of the assistant message before its run of
 * tool messages; undefined when every one does.
 */
function unansweredResults(messages: readonly Message[]): string | undefined {
  let calls = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      if (!calls.has(message.tool_call_id)) return message.tool_call_id;
    } else calls = new Set(callIds(message));
  }
  return undefined;
}

/**
 * Stored messages made sendable: an assistant message's `tool_calls` are kept only when the `tool` messages
 * right after it answer every call (else the message goes without them, or not at all when it has no
 * text), and a `tool` message only after the call it answers; `following` (the new turn's tool results)
 * may answer the last calls. So an answer whose calls the client never
 * answered (it asked something else instead) does not make every later turn fail.
 */
export function pairToolCalls(
  messages: readonly CountedMessage[],
  following: readonly CountedMessage[] = [],
): Message[] {
  const out: Message[] = [];
  let open = new Set<string>();
  for (const [index, { message }] of messages.entries()) {
    if (message.role === 'tool') {
      if (open.has(message.tool_call_id)) out.push(message);
      continue;
    }
    open = new Set();
    const calls = callIds(message);
    if (message.role !== 'assistant' || calls.length === 0) {
      out.push(message);
      continue;
    }
    const answered = new Set<string>();
    for (const next of [...messages.slice(index + 1), ...following]) {
      if (next.message.role !== 'tool') break;
      answered.add(next.message.tool_call_id);
    }
    if (calls.every((id) => answered.has(id))) {
      open = new Set(calls);
      out.push(message);
      continue;
    }
    const { tool_calls: _calls, ...text } = message;
    if (typeof text.content === 'string' ? text.content !== '' : Array.isArray(text.content) && text.content.length > 0)
      out.push(text);
  }
  return out;
}

function sum(messages: readonly CountedMessage[]): number {
  return messages.reduce((n, m) => n + m.tokens, 0);
}

/**
 * Messages by turn, a turn that starts with tool results joined to the turn before it (whose calls they
 * answer): they are kept or dropped together.
 */
function groupByTurn(messages: readonly CountedMessage[]): CountedMessage[][] {
  const groups: CountedMessage[][] = [];
  let turn: number | undefined;
  for (const message of messages) {
    const last = groups.at(-1);
    const sameTurn = last !== undefined && turn === message.turn;
    const answersLast = last !== undefined && !sameTurn && message.message.role === 'tool';
    if (sameTurn || answersLast) last.push(message);
    else groups.push([message]);
    turn = message.turn;
  }
  return groups;
}
