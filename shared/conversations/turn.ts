/**
 * The types of one chat turn in a conversation, as the chat service sees them: what a request asks for,
 * what the handler tells the client, and how the answer is handed back to be stored.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Caller } from '../auth/caller';
import type { Logger } from '../logger';
import type { AnswerToolCall } from '../tool-calls';
import type { PartialReason } from './table';

/**
 * Which conversation a chat belongs to: a new one (its id chosen up front, so headers can carry it early), a
 * stored one, or `find`: the request names none but resends its chat's history (shared/conversations/resent.ts),
 * so it goes on in the conversation that history is stored in, else starts a new one with `id`.
 */
export type ConversationRequest =
  | { readonly kind: 'start'; readonly id: string }
  | { readonly kind: 'continue'; readonly id: string }
  | { readonly kind: 'find'; readonly id: string };

export interface TurnRequest {
  readonly caller: Caller;
  readonly conversation: ConversationRequest;
  /** The request's messages: the new turn (usually one user message, maybe a system message). */
  readonly messages: readonly ChatCompletionMessageParam[];
  /** The request's max_tokens: tokens kept free for the answer (default CHAT_ANSWER_RESERVE_TOKENS). */
  readonly maxTokens?: number;
  /** `Idempotency-Key` of the request: a retry with the same key does not store the turn again. */
  readonly idempotencyKey?: string;
  /**
   * The caller's quota admission, called once the conversation is loaded (it exists and is the caller's, the
   * question is not too large to store) and before its question is counted exactly or stored: a request refused
   * for its conversation (404, 413) costs no quota, one the quota refuses costs no tokenizer work and stores
   * nothing. `historyTokens`: the prompt tokens the stored history may add to the request's messages (0 without
   * history), for the reservation. Called once, also when the chat goes on without history; its rejection is the
   * turn's.
   */
  readonly admit?: (historyTokens: number) => Promise<unknown>;
  readonly logger: Logger;
}

/**
 * What came of the conversation, for the client. `stored`: the question is stored and the answer will
 * be (or was); `partial`: the answer was stored cut short, `reason` says why; `unavailable`: the chat was
 * answered without history (store out, or not configured) and nothing of it is stored.
 */
export type ConversationOutcome =
  | {
      readonly state: 'stored';
      readonly id: string;
      readonly title: string;
      readonly turn: number;
      /** Earlier messages left out to fit the model's context window. */
      readonly dropped: number;
    }
  | {
      readonly state: 'partial';
      readonly id: string;
      readonly title: string;
      readonly turn: number;
      readonly reason: PartialReason;
    }
  | { readonly state: 'unavailable'; readonly id: string; readonly warning: string };

/** How the answer ended, as the chat service knows it. */
export interface AnswerRecord {
  readonly text: string;
  /** `interrupted`: broke mid-stream, not continued; `abandoned`: the client left. */
  readonly outcome: 'completed' | 'interrupted' | 'abandoned';
  readonly finishReason?: string;
  /** The answer's completion tokens from the usage, when known (else they are counted). */
  readonly completionTokens?: number;
  /**
   * The function calls of a completed answer: stored with it as the assistant message's `tool_calls`, so the
   * client's next turn (the `tool` messages with their results) follows its calls.
   */
  readonly toolCalls?: readonly AnswerToolCall[];
}

/** One turn under way. */
export interface ConversationTurn {
  /** What the model is sent: the history that fits, then the new turn. */
  readonly messages: ChatCompletionMessageParam[];
  /** The outcome so far (it changes once the answer is stored). */
  outcome(): ConversationOutcome;
  /**
   * Stores the answer once it has ended. Never rejects: a failure shows in `outcome()` and the log. An answer
   * that ended before any text (the client left, the stream broke) is a failed turn: see `discard`.
   */
  finish(answer: AnswerRecord): Promise<void>;
  /**
   * The chat failed before any answer (every region down or throttled, the content filter, the client gone):
   * the turn's question is taken out of the conversation again, so it is never sent to the model as history
   * nor shown as a question without an answer; the client has the error and its own message. A conversation
   * left without messages is deleted. Never rejects.
   */
  discard(): Promise<void>;
}
