/**
 * Maps model answers to the Microsoft AI Chat Protocol shapes (`@microsoft/ai-chat-protocol`):
 * a completion is `{message, context, sessionState}`, a stream is `{delta, context?, sessionState?}` lines.
 * Usage, finish reason, region and attempts go into `context`.
 */
import type { CompletionUsage } from 'openai/resources/completions';
import type { AnswerPart, ChatRequest, CompletionResult, Served } from '../chat-service';
import type { ConversationOutcome } from '../conversations';
import { triedCount } from '../errors';
import { sessionStateWith } from './conversations';
import type { ChatProtocolRequest } from './schemas';

export interface ChatContext {
  readonly model: string;
  readonly region: string;
  readonly attempts: number;
  readonly finishReason?: string | null;
  readonly usage?: { readonly promptTokens: number; readonly completionTokens: number; readonly totalTokens: number };
  /**
   * A streamed answer continued from another region after a break: which region sent which part, in
   * order (`region` is the first). Absent for an answer served whole.
   */
  readonly parts?: readonly AnswerPart[];
  /** The conversation this chat belongs to and what came of it; absent for a stateless chat. */
  readonly conversation?: ConversationOutcome;
}

/** How the answer ended, for its context. */
export interface AnswerEndFields {
  readonly finishReason?: string | null;
  readonly usage?: CompletionUsage | null;
  /** Which region sent which part (only shown when there are several). */
  readonly parts?: readonly AnswerPart[];
  readonly conversation?: ConversationOutcome;
}

export function chatContext(served: Served, end: AnswerEndFields = {}): ChatContext {
  const { finishReason, usage, parts = [], conversation } = end;
  return {
    model: served.model,
    region: served.region,
    attempts: triedCount(served.attempts),
    ...(finishReason !== undefined ? { finishReason } : {}),
    ...(usage
      ? {
          usage: {
            promptTokens: usage.prompt_tokens,
            completionTokens: usage.completion_tokens,
            totalTokens: usage.total_tokens,
          },
        }
      : {}),
    ...(parts.length > 1 ? { parts } : {}),
    ...(conversation ? { conversation } : {}),
  };
}

/**
 * The chat service request for a chat protocol body: message `context` is for the client, not the
 * model; the request `context` may pick the model and set max_tokens and temperature.
 */
export function toChatRequest(
  body: ChatProtocolRequest,
  meta: Pick<
    ChatRequest,
    'requestId' | 'logger' | 'traceParent' | 'signal' | 'caller' | 'conversation' | 'idempotencyKey'
  >,
): ChatRequest {
  const options = body.context;
  return {
    ...(options?.model !== undefined ? { model: options.model } : {}),
    messages: body.messages.map(({ role, content }) => ({ role, content })),
    params: {
      ...(options?.max_tokens !== undefined ? { max_tokens: options.max_tokens } : {}),
      ...(options?.temperature !== undefined ? { temperature: options.temperature } : {}),
    },
    ...meta,
  };
}

export function completionResponse(result: CompletionResult, sent: unknown) {
  const choice = result.completion.choices[0];
  const conversation = result.conversation?.();
  const sessionState = sessionStateWith(sent, conversation);
  const end = { finishReason: choice?.finish_reason ?? null, usage: result.completion.usage, conversation };
  return {
    message: { role: 'assistant' as const, content: choice?.message.content ?? '' },
    context: chatContext(result, end),
    ...(sessionState !== undefined ? { sessionState } : {}),
  };
}
