// Success bodies of chat completions. Shapes and key order follow the real captures in
// test/fixtures/azure-wire/ (file named beside each); Azure's 2025 responses list keys alphabetically.
import { randomInt } from 'node:crypto';
import type { PlannedCall } from './tools';

/** Identity shared by every chunk of one completion. */
export interface CompletionMeta {
  readonly id: string;
  /** Epoch seconds. */
  readonly created: number;
  /** Model name (not the deployment name), e.g. `gpt-4o-2024-11-20`. */
  readonly model: string;
}

export type FinishReason = 'stop' | 'length' | 'content_filter';

const SYSTEM_FINGERPRINT = 'fp_ded0d14823';
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh `chatcmpl-` id with 29 characters after the prefix, like Azure's. */
export function completionId(): string {
  let suffix = '';
  for (let i = 0; i < 29; i++) suffix += ID_ALPHABET[randomInt(ID_ALPHABET.length)] ?? 'A';
  return `chatcmpl-${suffix}`;
}

const safe = { filtered: false, severity: 'safe' } as const;

/** The four severity categories, as on each streamed content delta (aoai_stream_sse_chat_completion.json). */
function severityResults(): Record<string, unknown> {
  return { hate: safe, self_harm: safe, sexual: safe, violence: safe };
}

/** prompt_filter_results as in aoai_200_chat_completion_with_filter_results.json. */
export function promptFilterResults(): unknown[] {
  return [
    {
      prompt_index: 0,
      content_filter_results: {
        hate: safe,
        jailbreak: { filtered: false, detected: false },
        self_harm: safe,
        sexual: safe,
        violence: safe,
      },
    },
  ];
}

/** Per-choice results of a non-streamed answer; a filtered answer flags protected material, as Azure's async filter does. */
function choiceFilterResults(filtered: boolean): Record<string, unknown> {
  return {
    hate: safe,
    protected_material_code: { filtered: false, detected: false },
    protected_material_text: { filtered, detected: filtered },
    self_harm: safe,
    sexual: safe,
    violence: safe,
  };
}

/** Token counts of one completion. */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

function usageBody(usage: Usage): Record<string, unknown> {
  return {
    completion_tokens: usage.completionTokens,
    completion_tokens_details: {
      accepted_prediction_tokens: 0,
      audio_tokens: 0,
      reasoning_tokens: 0,
      rejected_prediction_tokens: 0,
    },
    prompt_tokens: usage.promptTokens,
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** aoai_200_chat_completion_with_filter_results.json: a non-streamed completion. */
export function completionBody(
  meta: CompletionMeta,
  content: string,
  finishReason: FinishReason,
  usage: Usage,
): unknown {
  return {
    choices: [
      {
        content_filter_results: choiceFilterResults(finishReason === 'content_filter'),
        finish_reason: finishReason,
        index: 0,
        message: { content, refusal: null, role: 'assistant' },
      },
    ],
    created: meta.created,
    id: meta.id,
    model: meta.model,
    object: 'chat.completion',
    prompt_filter_results: promptFilterResults(),
    system_fingerprint: SYSTEM_FINGERPRINT,
    usage: usageBody(usage),
  };
}

/**
 * A non-streamed answer that calls tools: `content: null`, the calls in `tool_calls`, finish_reason
 * `tool_calls` (the shape of OpenAI's and Azure's documented function-calling examples).
 */
export function toolCallsBody(meta: CompletionMeta, calls: readonly PlannedCall[], usage: Usage): unknown {
  return {
    choices: [
      {
        content_filter_results: {},
        finish_reason: 'tool_calls',
        index: 0,
        message: {
          content: null,
          refusal: null,
          role: 'assistant',
          tool_calls: calls.map((call) => ({
            function: { arguments: call.arguments, name: call.name },
            id: call.callId,
            type: 'function',
          })),
        },
      },
    ],
    created: meta.created,
    id: meta.id,
    model: meta.model,
    object: 'chat.completion',
    prompt_filter_results: promptFilterResults(),
    system_fingerprint: SYSTEM_FINGERPRINT,
    usage: usageBody(usage),
  };
}

/**
 * The first chunk of one streamed tool call: its `index`, `id`, `type` and name, arguments empty. The
 * first call's also carries the role (a tool-calling answer has no separate role chunk).
 */
export function toolCallStartChunk(meta: CompletionMeta, index: number, call: PlannedCall): unknown {
  const role = index === 0 ? { content: null, refusal: null, role: 'assistant' } : {};
  return chunk(meta, {
    content_filter_results: {},
    delta: {
      ...role,
      tool_calls: [{ function: { arguments: '', name: call.name }, id: call.callId, index, type: 'function' }],
    },
    finish_reason: null,
    index: 0,
    logprobs: null,
  });
}

/** A fragment of the arguments of the streamed tool call at `index`. */
export function toolArgumentsChunk(meta: CompletionMeta, index: number, fragment: string): unknown {
  return chunk(meta, {
    content_filter_results: {},
    delta: { tool_calls: [{ function: { arguments: fragment }, index }] },
    finish_reason: null,
    index: 0,
    logprobs: null,
  });
}

function chunk(meta: CompletionMeta, choice: Record<string, unknown>): unknown {
  return {
    choices: [choice],
    created: meta.created,
    id: meta.id,
    model: meta.model,
    object: 'chat.completion.chunk',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/** aoai_stream_sse_chat_completion.json, first event: no choices, empty id/model, the prompt's filter results. */
export function promptFilterChunk(): unknown {
  return { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults() };
}

/** aoai_stream_sse_chat_completion.json, second event: the role, with empty content_filter_results. */
export function roleChunk(meta: CompletionMeta): unknown {
  return chunk(meta, {
    content_filter_results: {},
    delta: { content: '', refusal: null, role: 'assistant' },
    finish_reason: null,
    index: 0,
    logprobs: null,
  });
}

/** aoai_stream_sse_chat_completion.json: one content delta with its filter results. */
export function contentChunk(meta: CompletionMeta, content: string): unknown {
  return chunk(meta, {
    content_filter_results: severityResults(),
    delta: { content },
    finish_reason: null,
    index: 0,
    logprobs: null,
  });
}

/** aoai_stream_sse_chat_completion.json, last event before usage/[DONE]: empty delta, finish_reason set. */
export function finishChunk(meta: CompletionMeta, finishReason: 'stop' | 'length' | 'tool_calls'): unknown {
  return chunk(meta, { content_filter_results: {}, delta: {}, finish_reason: finishReason, index: 0, logprobs: null });
}

/**
 * aoai_stream_sse_async_filter_content_filter_finish.json: the filter's verdict arrives as an annotation-only
 * event with empty id/model and no `delta`; offsets are character offsets into the streamed text.
 */
export function contentFilterFinishChunk(checkOffset: number, endOffset: number): unknown {
  return {
    id: '',
    object: '',
    created: 0,
    model: '',
    choices: [
      {
        index: 0,
        finish_reason: 'content_filter',
        content_filter_results: { protected_material_text: { detected: true, filtered: true } },
        content_filter_offsets: { check_offset: checkOffset, start_offset: checkOffset, end_offset: endOffset },
      },
    ],
    usage: null,
  };
}

/** aoai_stream_usage_chunk.json: sent only with `stream_options.include_usage`, with `choices: []`. */
export function usageChunk(meta: CompletionMeta, usage: Usage): unknown {
  return {
    choices: [],
    created: meta.created,
    id: meta.id,
    model: meta.model,
    object: 'chat.completion.chunk',
    system_fingerprint: SYSTEM_FINGERPRINT,
    usage: usageBody(usage),
  };
}

/** One SSE event as Azure frames it: `data: <json>` and a blank line. */
export function sseEvent(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
