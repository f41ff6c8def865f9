/**
 * The tool calls of an answer, as they are reported (telemetry counts them) and stored (a conversation
 * keeps them with the answer's turn): read from a whole completion, put together from a stream's
 * `tool_calls` deltas, or read from a Responses API answer's `function_call` items.
 */
import type { ChatCompletionChunk, ChatCompletionMessage } from 'openai/resources/chat/completions';

/** One function call the model made. */
export interface AnswerToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as the model wrote them (JSON text). */
  readonly arguments: string;
}

/** The function calls of a whole completion's message. */
export function toolCallsOf(message: ChatCompletionMessage | undefined): AnswerToolCall[] {
  return (message?.tool_calls ?? []).flatMap((call) =>
    call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
  );
}

/** The function calls of a Responses API answer's output items. */
export function functionCallsOf(output: readonly unknown[] | undefined): AnswerToolCall[] {
  return (output ?? []).flatMap((item) => {
    const call = item as { type?: unknown; call_id?: unknown; name?: unknown; arguments?: unknown };
    return call.type === 'function_call' &&
      typeof call.call_id === 'string' &&
      typeof call.name === 'string' &&
      typeof call.arguments === 'string'
      ? [{ id: call.call_id, name: call.name, arguments: call.arguments }]
      : [];
  });
}

/**
 * Puts streamed calls together: a call's first delta carries its `index`, `id` and name, later deltas with the
 * same `index` add fragments of its arguments.
 */
export class ToolCallAccumulator {
  readonly #calls = new Map<number, { id: string; name: string; arguments: string }>();

  push(deltas: readonly ChatCompletionChunk.Choice.Delta.ToolCall[] | undefined): void {
    for (const delta of deltas ?? []) {
      const call = this.#calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name += delta.function.name;
      if (delta.function?.arguments) call.arguments += delta.function.arguments;
      this.#calls.set(delta.index, call);
    }
  }

  get size(): number {
    return this.#calls.size;
  }

  /** The calls so far, in index order. */
  calls(): AnswerToolCall[] {
    return [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ ...call }));
  }
}
