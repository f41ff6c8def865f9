/**
 * Relaying a streamed answer from the region that serves it to the consumer: the chunks worth
 * forwarding, what the report needs when the stream ends (any way it ends), and a break after the
 * first byte turned into `stream_interrupted` (the region's breaker hears of it). A continuation of
 * the answer from another region would start where that error is thrown.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CompletionReport } from './chat-report';
import { isForwardable, withDeltas } from './chunks';
import { ChatError } from './errors';
import type { Logger } from './logger';
import type { RegionHealth } from './region-health';
import type { Served, Serving } from './served';
import type { OpenedStream } from './upstream';

export interface StreamResult extends Served {
  /** Chunks as the model sends them, minus Azure's prompt-filter-only chunk; the usage chunk last. */
  readonly chunks: AsyncIterable<ChatCompletionChunk>;
}

export interface RelayOptions {
  readonly health: RegionHealth;
  readonly logger: Logger;
  /** Whether the report carries the answer text (CHAT_LOG_CONTENT). */
  readonly captureContent: boolean;
  /** The client's signal: a stream it abandoned is not an interruption. */
  readonly clientSignal?: AbortSignal;
}

/** What the report hears when the stream ends, gathered chunk by chunk. */
class StreamTally {
  outcome: CompletionReport['outcome'] = 'abandoned';
  usage: CompletionUsage | undefined;
  finishReason: string | undefined;
  answer = '';

  constructor(readonly captureContent: boolean) {}

  seen(chunk: ChatCompletionChunk): ChatCompletionChunk {
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    if (this.captureContent) this.answer += choice?.delta.content ?? '';
    return chunk;
  }
}

/** The consumer's chunks; the upstream call ends with them (a consumer that stops early aborts it). */
export async function* relayStream(
  serving: Serving<OpenedStream>,
  options: RelayOptions,
): AsyncGenerator<ChatCompletionChunk> {
  const { answer: opened, served, signal } = serving;
  const tally = new StreamTally(options.captureContent);
  try {
    if (opened.first !== undefined) {
      yield tally.seen(opened.first);
      for (let next = await opened.rest.next(); next.done !== true; next = await opened.rest.next()) {
        if (isForwardable(next.value)) yield tally.seen(withDeltas(next.value));
      }
    }
    tally.outcome = 'completed';
  } catch (error) {
    if (options.clientSignal?.aborted) return; // the client left; nothing to tell it
    tally.outcome = 'interrupted';
    throw interrupted(error, served, signal.aborted, options);
  } finally {
    serving.release();
    await serving.report.completed(serving.upstream, { streamed: true, ...tally, answer: () => tally.answer });
    // Ends the upstream call if the consumer stopped early (client disconnect).
    if (!signal.aborted) await opened.rest.return?.(undefined);
  }
}

/** A stream that broke after its first byte: the region's breaker hears of it, the consumer gets the error. */
function interrupted(error: unknown, served: Served, timedOut: boolean, options: RelayOptions): ChatError {
  options.health.recordFailure(served.region, timedOut ? 'upstream_timeout' : 'stream_interrupted');
  options.logger.warn(`Stream from ${served.region} broke after the first byte`, { code: 'stream_interrupted' });
  return new ChatError('stream_interrupted', {
    message: timedOut
      ? 'The answer took too long and was cut off.'
      : 'The connection to the model broke mid-answer. The answer is incomplete; send the message again.',
    diagnosis: `Region ${served.region} stream ended early: ${error instanceof Error ? error.message : String(error)}`,
    requestId: served.requestId,
    attempts: served.attempts,
    cause: error,
  });
}
