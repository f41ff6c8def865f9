// The Responses API (`POST /openai/v1/responses`) as Azure OpenAI's v1 surface serves it: the request read
// into the simulator's chat request, the stored responses `previous_response_id` and `item_reference`
// point at (one store per region, as each Azure resource keeps its own), and the response object. Field
// shapes follow the official `openai` package's types (resources/responses/responses.d.ts: Response,
// ResponseOutputMessage, ResponseUsage); wire captures of Azure's Responses API were not available.
import { randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from './chat';
import type { ChatRequest } from './request';
import type { ErrorAnswer } from './responses';
import { invalidRequest } from './responses';
import { contentText } from './tokens';
import { parseTools, type PlannedCall } from './tools';

/**
 * A message of a conversation as the simulator generates from it, in the chat shape: text messages, an
 * assistant message with `tool_calls` for a `function_call` item, a `tool` message for its output.
 */
export type Message = Readonly<{ role: string; content: string } & Record<string, unknown>>;

/** What a Responses call adds to a chat request: what to echo, what to store. */
export interface ResponsesCall {
  /** The new response's id (`resp_` and 48 hex digits, like OpenAI's). */
  readonly id: string;
  /** The answer's message item id (`msg_...`). */
  readonly itemId: string;
  readonly store: boolean;
  readonly previousResponseId: string | null;
  readonly instructions: string | null;
  /** The conversation so far without instructions (previous responses' turns, then this input). */
  readonly history: readonly Message[];
  /** Request fields the response object repeats. */
  readonly echo: {
    readonly temperature: number | null;
    readonly topP: number | null;
    readonly maxOutputTokens: number | null;
    readonly metadata: unknown;
    readonly tools: unknown;
    readonly toolChoice: unknown;
    readonly parallelToolCalls: boolean;
    /** `text` as sent (the output format, with its JSON schema): the API repeats it in the response. */
    readonly text: unknown;
  };
}

/** One function call of an answer, with its output item id (`fc_...`). */
export interface ResponseCall extends PlannedCall {
  readonly itemId: string;
}

/** A function call as a conversation message (what `previous_response_id` and `item_reference` stand for). */
function callMessage(call: PlannedCall): Message {
  return {
    role: 'assistant',
    content: '',
    tool_calls: [{ id: call.callId, type: 'function', function: { name: call.name, arguments: call.arguments } }],
  };
}

/** Responses and answer items a region keeps (`store`, default true), at most `limit` of each, oldest dropped. */
export class ResponseStore {
  readonly #conversations = new Map<string, readonly Message[]>();
  readonly #items = new Map<string, Message>();

  constructor(readonly limit = 1000) {}

  /** The whole conversation a stored response ended: its history and its answer. */
  conversation(id: string): readonly Message[] | undefined {
    return this.#conversations.get(id);
  }

  item(id: string): Message | undefined {
    return this.#items.get(id);
  }

  /** Keeps an answer: its text, or the function calls it made. */
  save(call: ResponsesCall, answer: string | readonly ResponseCall[]): void {
    if (!call.store) return;
    if (typeof answer === 'string') {
      const message = { role: 'assistant', content: answer };
      remember(this.#conversations, call.id, [...call.history, message], this.limit);
      remember(this.#items, call.itemId, message, this.limit);
      return;
    }
    const messages = answer.map(callMessage);
    remember(this.#conversations, call.id, [...call.history, ...messages], this.limit);
    for (const [index, made] of answer.entries())
      remember(this.#items, made.itemId, messages[index] as Message, this.limit);
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T, limit: number): void {
  map.set(key, value);
  const oldest = map.keys().next();
  if (map.size > limit && oldest.done !== true) map.delete(oldest.value);
}

export function responseId(prefix: 'resp' | 'msg' | 'fc'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** Validates a Responses body with OpenAI's wording; returns the chat request to answer or the 400 to send. */
export function parseResponsesRequest(body: unknown, store: ResponseStore): ChatRequest | ErrorAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalidRequest('Invalid type for request body: expected an object.', null, 'invalid_type');
  }
  const record = body as Record<string, unknown>;
  const previousResponseId = typeof record['previous_response_id'] === 'string' ? record['previous_response_id'] : null;
  const previous = previousResponseId === null ? [] : store.conversation(previousResponseId);
  if (previous === undefined) {
    return invalidRequest(
      `Previous response with id '${previousResponseId}' not found.`,
      'previous_response_id',
      'previous_response_not_found',
    );
  }
  const input = inputMessages(record['input'], store);
  if (!Array.isArray(input)) return input;
  const maxTokens = record['max_output_tokens'];
  if (maxTokens !== undefined && maxTokens !== null && !(Number.isInteger(maxTokens) && (maxTokens as number) >= 1)) {
    return invalidRequest(
      `Invalid 'max_output_tokens': expected an integer >= 1, but got ${JSON.stringify(maxTokens)} instead.`,
      'max_output_tokens',
      'invalid_value',
    );
  }
  const tools = parseTools(record, 'responses');
  if ('status' in tools) return tools;
  const instructions = typeof record['instructions'] === 'string' ? record['instructions'] : null;
  const history = [...previous, ...input];
  const responses: ResponsesCall = {
    id: responseId('resp'),
    itemId: responseId('msg'),
    store: record['store'] !== false,
    previousResponseId,
    instructions,
    history,
    echo: {
      temperature: numberOrNull(record['temperature']),
      topP: numberOrNull(record['top_p']),
      maxOutputTokens: numberOrNull(maxTokens),
      metadata: record['metadata'] ?? {},
      tools: record['tools'] ?? [],
      toolChoice: record['tool_choice'] ?? 'auto',
      parallelToolCalls: tools.parallel,
      text:
        typeof record['text'] === 'object' && record['text'] !== null ? record['text'] : { format: { type: 'text' } },
    },
  };
  return {
    model: typeof record['model'] === 'string' ? record['model'] : undefined,
    messages: instructions === null ? history : [{ role: 'system', content: instructions }, ...history],
    stream: record['stream'] === true,
    includeUsage: false,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    tools,
    responses,
  };
}

/** `input` as messages: a string is one user message; items are messages or references to stored answers. */
function inputMessages(input: unknown, store: ResponseStore): Message[] | ErrorAnswer {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) {
    return invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  const messages: Message[] = [];
  for (const [index, item] of (input as unknown[]).entries()) {
    const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    if (fields['type'] === 'item_reference') {
      const stored = typeof fields['id'] === 'string' ? store.item(fields['id']) : undefined;
      if (stored === undefined)
        return invalidRequest(`Item with id '${String(fields['id'])}' not found.`, 'input', null);
      messages.push(stored);
      continue;
    }
    if (fields['type'] === 'function_call') {
      const { call_id: callId, name, arguments: args } = fields;
      if (typeof callId !== 'string' || typeof name !== 'string' || typeof args !== 'string') {
        return invalidRequest(
          `Missing required parameter: 'input[${index}].call_id', 'name' or 'arguments'.`,
          `input[${index}]`,
          'missing_required_parameter',
        );
      }
      messages.push(callMessage({ callId, name, arguments: args }));
      continue;
    }
    if (fields['type'] === 'function_call_output') {
      if (typeof fields['call_id'] !== 'string') {
        return invalidRequest(
          `Missing required parameter: 'input[${index}].call_id'.`,
          `input[${index}].call_id`,
          'missing_required_parameter',
        );
      }
      const output = typeof fields['output'] === 'string' ? fields['output'] : contentText(fields['output']);
      messages.push({ role: 'tool', content: output, tool_call_id: fields['call_id'] });
      continue;
    }
    if (typeof fields['role'] !== 'string') {
      return invalidRequest(
        `Missing required parameter: 'input[${index}].role'.`,
        `input[${index}].role`,
        'missing_required_parameter',
      );
    }
    messages.push({ role: fields['role'], content: contentText(fields['content']) });
  }
  return messages;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/** Identity of one response: its id, creation time and the model (not deployment) name. */
export interface ResponseMeta {
  /** Epoch seconds. */
  readonly created: number;
  readonly model: string;
}

/** How an answer ends, as a response's `status` and `incomplete_details` say it. */
export function responseStatus(finishReason: FinishReason): {
  readonly status: 'completed' | 'incomplete';
  readonly incomplete: { readonly reason: 'max_output_tokens' | 'content_filter' } | null;
} {
  if (finishReason === 'stop') return { status: 'completed', incomplete: null };
  return {
    status: 'incomplete',
    incomplete: { reason: finishReason === 'length' ? 'max_output_tokens' : 'content_filter' },
  };
}

/** The answer's `output_text` content part. */
export function textPart(text: string): Record<string, unknown> {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

/** The answer's message item; `status` is `in_progress` while it streams. */
export function messageItem(call: ResponsesCall, status: string, text?: string): Record<string, unknown> {
  return {
    id: call.itemId,
    type: 'message',
    status,
    content: text === undefined ? [] : [textPart(text)],
    role: 'assistant',
  };
}

/** A function call output item (ResponseFunctionToolCall); `arguments` empty while it streams. */
export function functionCallItem(call: ResponseCall, status: string, args = call.arguments): Record<string, unknown> {
  return { id: call.itemId, type: 'function_call', status, arguments: args, call_id: call.callId, name: call.name };
}

/** ResponseUsage. */
function usageBody(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** What a response object says at one point of its life. */
export interface ResponseState {
  readonly status: 'in_progress' | 'completed' | 'incomplete';
  readonly incomplete?: { readonly reason: string } | null;
  readonly text?: string;
  /** The function calls the answer made, instead of text. */
  readonly calls?: readonly ResponseCall[];
  readonly usage?: Usage;
}

/** The Response object (non-streamed answer, and the `response` of stream lifecycle events). */
export function responseBody(call: ResponsesCall, meta: ResponseMeta, state: ResponseState): Record<string, unknown> {
  const done = state.status !== 'in_progress';
  return {
    id: call.id,
    object: 'response',
    created_at: meta.created,
    status: state.status,
    background: false,
    error: null,
    incomplete_details: state.incomplete ?? null,
    instructions: call.instructions,
    max_output_tokens: call.echo.maxOutputTokens,
    model: meta.model,
    output: done ? outputOf(call, state) : [],
    parallel_tool_calls: call.echo.parallelToolCalls,
    previous_response_id: call.previousResponseId,
    reasoning: { effort: null, summary: null },
    store: call.store,
    temperature: call.echo.temperature ?? 1,
    text: call.echo.text,
    tool_choice: call.echo.toolChoice,
    tools: call.echo.tools,
    top_p: call.echo.topP ?? 1,
    truncation: 'disabled',
    usage: done && state.usage ? usageBody(state.usage) : null,
    user: null,
    metadata: call.echo.metadata,
  };
}

function outputOf(call: ResponsesCall, state: ResponseState): Record<string, unknown>[] {
  if (state.calls !== undefined && state.calls.length > 0)
    return state.calls.map((c) => functionCallItem(c, 'completed'));
  return [messageItem(call, state.status, state.text ?? '')];
}
