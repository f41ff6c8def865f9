// Writes a streamed Responses API answer: typed server-sent events (`event: <type>` and `data: {type, ...,
// sequence_number}`) in the order the official `openai` package's ResponseStream expects them
// (lib/responses/ResponseStream: created, in_progress, output_item.added, content_part.added, deltas,
// output_text.done, content_part.done, output_item.done, then completed or incomplete).
import type { ServerResponse } from 'node:http';
import type { FinishReason, Usage } from './chat';
import { writeFlushed } from './http';
import {
  functionCallItem,
  messageItem,
  responseBody,
  responseStatus,
  textPart,
  type ResponseCall,
  type ResponseMeta,
  type ResponsesCall,
} from './responses-api';
import { interrupt, type Interruption, type StreamOutcome } from './stream';

/** Everything one streamed response needs. */
export interface ResponseStreamPlan {
  readonly call: ResponsesCall;
  readonly meta: ResponseMeta;
  readonly tokens: readonly string[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  /** Break the answer part way (the `reset-midstream` and `stall` faults), after that many text deltas. */
  readonly interruption: Interruption | undefined;
  /** Delay between two tokens, in milliseconds. */
  readonly perTokenMs: number;
  readonly delay: (ms: number) => Promise<void>;
}

/** Numbers events in the order they are written. */
class EventWriter {
  #sequence = 0;

  constructor(readonly res: ServerResponse) {}

  frame(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.#sequence++ })}\n\n`;
  }

  write(type: string, fields: Record<string, unknown>): void {
    this.res.write(this.frame(type, fields));
  }
}

/** The stream's headers, `response.created` and `response.in_progress`: how every Responses stream begins. */
function openResponseStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  call: Parameters<typeof responseBody>[0],
  meta: Parameters<typeof responseBody>[1],
): EventWriter {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const out = new EventWriter(res);
  const started = responseBody(call, meta, { status: 'in_progress' });
  out.write('response.created', { response: started });
  out.write('response.in_progress', { response: started });
  return out;
}

export async function writeResponseStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  plan: ResponseStreamPlan,
): Promise<StreamOutcome> {
  const { call, meta } = plan;
  const out = openResponseStream(res, headers, call, meta);
  const at = { output_index: 0 };
  const part = { item_id: call.itemId, ...at, content_index: 0 };
  out.write('response.output_item.added', { ...at, item: messageItem(call, 'in_progress') });
  out.write('response.content_part.added', { ...part, part: textPart('') });
  const broken = plan.interruption;
  const tokens = broken ? plan.tokens.slice(0, broken.afterChunks) : plan.tokens;
  for (const [index, token] of tokens.entries()) {
    if (index > 0) await plan.delay(plan.perTokenMs);
    if (res.destroyed) return 'closed';
    const delta = out.frame('response.output_text.delta', { ...part, delta: token, logprobs: [] });
    // Before a break, let each event reach the client first, as when a front end dies mid-answer.
    if (broken) await writeFlushed(res, delta);
    else res.write(delta);
  }
  if (broken) {
    await interrupt(res, broken);
    return 'interrupted';
  }
  const text = tokens.join('');
  const { status, incomplete } = responseStatus(plan.finishReason);
  out.write('response.output_text.done', { ...part, text, logprobs: [] });
  out.write('response.content_part.done', { ...part, part: textPart(text) });
  out.write('response.output_item.done', { ...at, item: messageItem(call, status, text) });
  const response = responseBody(call, meta, { status, incomplete, text, usage: plan.usage });
  res.end(out.frame(status === 'completed' ? 'response.completed' : 'response.incomplete', { response }));
  return 'complete';
}

/** Everything one streamed response that calls functions needs. */
export interface FunctionCallStreamPlan {
  readonly call: ResponsesCall;
  readonly meta: ResponseMeta;
  /** Each function call with its arguments split into the deltas sent. */
  readonly calls: readonly { readonly made: ResponseCall; readonly fragments: readonly string[] }[];
  readonly usage: Usage;
  /** Break the answer part way, after that many argument deltas. */
  readonly interruption: Interruption | undefined;
  readonly perTokenMs: number;
  readonly delay: (ms: number) => Promise<void>;
}

/**
 * A streamed response that calls functions: for each call (output item) `response.output_item.added` with
 * empty arguments, `response.function_call_arguments.delta` per fragment, `.done` with the whole
 * arguments, `response.output_item.done`; then `response.completed` with the calls as its output.
 */
export async function writeFunctionCallStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  plan: FunctionCallStreamPlan,
): Promise<StreamOutcome> {
  const { call, meta } = plan;
  const out = openResponseStream(res, headers, call, meta);
  let left = plan.interruption?.afterChunks ?? Infinity;
  let first = true;
  for (const [index, { made, fragments }] of plan.calls.entries()) {
    const at = { output_index: index };
    out.write('response.output_item.added', { ...at, item: functionCallItem(made, 'in_progress', '') });
    for (const fragment of fragments) {
      if (!first) await plan.delay(plan.perTokenMs);
      first = false;
      if (res.destroyed) return 'closed';
      const delta = out.frame('response.function_call_arguments.delta', {
        item_id: made.itemId,
        ...at,
        delta: fragment,
      });
      if (plan.interruption) await writeFlushed(res, delta);
      else res.write(delta);
      if (--left <= 0 && plan.interruption) {
        await interrupt(res, plan.interruption);
        return 'interrupted';
      }
    }
    out.write('response.function_call_arguments.done', {
      item_id: made.itemId,
      ...at,
      name: made.name,
      arguments: made.arguments,
    });
    out.write('response.output_item.done', { ...at, item: functionCallItem(made, 'completed') });
  }
  const calls = plan.calls.map((c) => c.made);
  const response = responseBody(call, meta, { status: 'completed', calls, usage: plan.usage });
  res.end(out.frame('response.completed', { response }));
  return 'complete';
}
