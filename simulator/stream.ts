// Writes a streamed completion as Azure frames it (aoai_stream_sse_chat_completion.json).
import type { ServerResponse } from 'node:http';
import type { CompletionMeta, FinishReason, Usage } from './chat';
import {
  contentChunk,
  contentFilterFinishChunk,
  finishChunk,
  promptFilterChunk,
  roleChunk,
  sseEvent,
  toolArgumentsChunk,
  toolCallStartChunk,
  usageChunk,
} from './chat';
import type { PlannedCall } from './tools';
import { writeFlushed } from './http';

/** How a faulty region breaks an answer part way: drops the connection, or goes silent and keeps it open. */
export interface Interruption {
  readonly kind: 'reset' | 'stall';
  /** Content chunks (streamed) sent before the break. */
  readonly afterChunks: number;
}

/** Everything one streamed answer needs. */
export interface StreamPlan {
  readonly meta: CompletionMeta;
  readonly tokens: readonly string[];
  readonly finishReason: FinishReason;
  /** Characters of the unfiltered answer, for the content filter's `end_offset`. */
  readonly fullTextLength: number;
  readonly usage: Usage;
  readonly includeUsage: boolean;
  /** Break the answer part way (the `reset-midstream` and `stall` faults). */
  readonly interruption: Interruption | undefined;
  /** Delay between two tokens, in milliseconds. */
  readonly perTokenMs: number;
  readonly delay: (ms: number) => Promise<void>;
}

/** How the stream ended: sent whole, broken by a fault, or found closed (client gone or server closing). */
export type StreamOutcome = 'complete' | 'interrupted' | 'closed';

/** The stream's headers and Azure's first chunk (`choices: []` with the prompt's filter results), as Azure opens one. */
function openChatStream(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, must-revalidate',
    'x-accel-buffering': 'no',
  });
  res.write(sseEvent(promptFilterChunk()));
}

export async function writeStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  plan: StreamPlan,
): Promise<StreamOutcome> {
  const { meta } = plan;
  openChatStream(res, headers);
  res.write(sseEvent(roleChunk(meta)));
  const broken = plan.interruption;
  const tokens = broken ? plan.tokens.slice(0, broken.afterChunks) : plan.tokens;
  for (const [index, token] of tokens.entries()) {
    if (index > 0) await plan.delay(plan.perTokenMs);
    if (res.destroyed) return 'closed';
    // Before a break, let each chunk reach the client first, as when a front end dies mid-answer.
    if (broken) await writeFlushed(res, sseEvent(contentChunk(meta, token)));
    else res.write(sseEvent(contentChunk(meta, token)));
  }
  if (broken) {
    await interrupt(res, broken);
    return 'interrupted';
  }
  if (plan.finishReason === 'content_filter') {
    res.write(sseEvent(contentFilterFinishChunk(plan.tokens.join('').length, plan.fullTextLength)));
  } else {
    res.write(sseEvent(finishChunk(meta, plan.finishReason)));
  }
  if (plan.includeUsage) res.write(sseEvent(usageChunk(meta, plan.usage)));
  res.end(sseEvent('[DONE]'));
  return 'complete';
}

/** Everything one streamed answer that calls tools needs. */
export interface ToolStreamPlan {
  readonly meta: CompletionMeta;
  /** Each call with its arguments split into the fragments sent (one token each, as a model streams them). */
  readonly calls: readonly { readonly call: PlannedCall; readonly fragments: readonly string[] }[];
  readonly usage: Usage;
  readonly includeUsage: boolean;
  /** Break the answer part way: after `afterChunks` tool-call chunks (a call's first chunk and its fragments). */
  readonly interruption: Interruption | undefined;
  readonly perTokenMs: number;
  readonly delay: (ms: number) => Promise<void>;
}

/**
 * A streamed answer that calls tools, as OpenAI and Azure stream one: for each call a first chunk with its
 * `index`, `id`, `type` and name and empty arguments, then chunks with fragments of its arguments; then
 * `finish_reason: "tool_calls"`, the usage chunk when asked for, and `[DONE]`.
 */
export async function writeToolCallStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  plan: ToolStreamPlan,
): Promise<StreamOutcome> {
  const { meta } = plan;
  openChatStream(res, headers);
  const chunks = plan.calls.flatMap(({ call, fragments }, index) => [
    toolCallStartChunk(meta, index, call),
    ...fragments.map((fragment) => toolArgumentsChunk(meta, index, fragment)),
  ]);
  const broken = plan.interruption;
  const sent = broken ? chunks.slice(0, broken.afterChunks) : chunks;
  for (const [index, data] of sent.entries()) {
    if (index > 0) await plan.delay(plan.perTokenMs);
    if (res.destroyed) return 'closed';
    if (broken) await writeFlushed(res, sseEvent(data));
    else res.write(sseEvent(data));
  }
  if (broken) {
    await interrupt(res, broken);
    return 'interrupted';
  }
  res.write(sseEvent(finishChunk(meta, 'tool_calls')));
  if (plan.includeUsage) res.write(sseEvent(usageChunk(meta, plan.usage)));
  res.end(sseEvent('[DONE]'));
  return 'complete';
}

/** Breaks a response part way: destroys the socket, or keeps it open and silent until the other side closes it. */
export async function interrupt(res: ServerResponse, how: Interruption): Promise<void> {
  if (how.kind === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (res.destroyed) return;
  await new Promise<void>((resolve) => res.once('close', resolve));
}
