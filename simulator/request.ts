import type { ResponsesCall } from './responses-api';
import type { ErrorAnswer } from './responses';
import { invalidRequest } from './responses';
import { parseTools, type ToolOptions } from './tools';

/** The parts of a chat completions body the simulator uses. */
export interface ChatRequest {
  /** `model` from the body: the deployment name on the v1 route. */
  readonly model: string | undefined;
  readonly messages: readonly Readonly<Record<string, unknown>>[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** `max_completion_tokens`, else `max_tokens`; undefined when neither is set. */
  readonly maxTokens: number | undefined;
  /** The function tools offered and how the model may use them (see tools.ts). */
  readonly tools: ToolOptions;
  /** Set for a Responses API call (`POST /openai/v1/responses`): what its answer echoes and stores. */
  readonly responses?: ResponsesCall;
}

/** Validates a parsed body with OpenAI's wording for the errors; returns the request or the 400 to send. */
export function parseChatRequest(body: unknown): ChatRequest | ErrorAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalidRequest(
      `Invalid type for request body: expected an object, but got ${typeName(body)} instead.`,
      null,
      'invalid_type',
    );
  }
  const record = body as Record<string, unknown>;
  const messages = record['messages'];
  if (messages === undefined) {
    return invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (!Array.isArray(messages)) {
    return invalidRequest(
      `Invalid type for 'messages': expected an array of objects, but got ${typeName(messages)} instead.`,
      'messages',
      'invalid_type',
    );
  }
  if (messages.length === 0) {
    return invalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  for (const [index, message] of messages.entries()) {
    const role =
      typeof message === 'object' && message !== null ? (message as Record<string, unknown>)['role'] : undefined;
    if (typeof role !== 'string') {
      return invalidRequest(
        `Missing required parameter: 'messages[${index}].role'.`,
        `messages[${index}].role`,
        'missing_required_parameter',
      );
    }
  }
  const maxTokens = record['max_completion_tokens'] ?? record['max_tokens'];
  const maxParam = record['max_completion_tokens'] === undefined ? 'max_tokens' : 'max_completion_tokens';
  if (maxTokens !== undefined && maxTokens !== null && !(Number.isInteger(maxTokens) && (maxTokens as number) >= 1)) {
    return invalidRequest(
      `Invalid '${maxParam}': expected an integer >= 1, but got ${JSON.stringify(maxTokens)} instead.`,
      maxParam,
      'invalid_value',
    );
  }
  const tools = parseTools(record, 'chat');
  if ('status' in tools) return tools;
  const streamOptions = record['stream_options'];
  const model = record['model'];
  return {
    tools,
    model: typeof model === 'string' ? model : undefined,
    messages: messages as Record<string, unknown>[],
    stream: record['stream'] === true,
    includeUsage:
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as Record<string, unknown>)['include_usage'] === true,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
  };
}

/** Narrows the result of {@link parseChatRequest}. */
export function isErrorAnswer(value: ChatRequest | ErrorAnswer): value is ErrorAnswer {
  return 'status' in value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
