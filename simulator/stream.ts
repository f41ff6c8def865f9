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
  usageChunk,
} from './chat';
import { writeFlushed } from './http';

/** Content deltas sent before the `reset-midstream` fault drops the connection. */
export const RESET_AFTER_TOKENS = 2;

/** Everything one streamed answer needs. */
export interface StreamPlan {
  readonly meta: CompletionMeta;
  readonly tokens: readonly string[];
  readonly finishReason: FinishReason;
  /** Characters of the unfiltered answer, for the content filter's `end_offset`. */
  readonly fullTextLength: number;
  readonly usage: Usage;
  readonly includeUsage: boolean;
  /** Destroy the socket after {@link RESET_AFTER_TOKENS} deltas (the `reset-midstream` fault). */
  readonly reset: boolean;
  /** Delay between two tokens, in milliseconds. */
  readonly perTokenMs: number;
  readonly delay: (ms: number) => Promise<void>;
}

/** How the stream ended: sent whole, cut by the reset fault, or found closed (client gone or server closing). */
export type StreamOutcome = 'complete' | 'reset' | 'closed';

export async function writeStream(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  plan: StreamPlan,
): Promise<StreamOutcome> {
  const { meta } = plan;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, must-revalidate',
    'x-accel-buffering': 'no',
  });
  res.write(sseEvent(promptFilterChunk()));
  res.write(sseEvent(roleChunk(meta)));
  const tokens = plan.reset ? plan.tokens.slice(0, RESET_AFTER_TOKENS) : plan.tokens;
  for (const [index, token] of tokens.entries()) {
    if (index > 0) await plan.delay(plan.perTokenMs);
    if (res.destroyed) return 'closed';
    // Before a reset, let each chunk reach the client first, as when a front end dies mid-answer.
    if (plan.reset) await writeFlushed(res, sseEvent(contentChunk(meta, token)));
    else res.write(sseEvent(contentChunk(meta, token)));
  }
  if (plan.reset) {
    res.socket?.destroy();
    return 'reset';
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
