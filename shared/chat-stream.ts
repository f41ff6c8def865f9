/**
 * Relaying a streamed answer from the region that serves it to the consumer: the chunks worth
 * forwarding, what the report needs when the stream ends (any way it ends), and what happens when
 * the stream breaks after its first byte (a reset, an error event, a stall, an end without a finish
 * reason): the region's breaker hears of it, and the answer is continued from another region,
 * so the consumer sees one stream: the same response id, only new text, the usage of
 * every call added up. Only when no continuation is allowed or possible does the consumer get
 * `stream_interrupted`.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionReport } from './chat-report';
import type { ConversationOutcome } from './conversations/turn';
import { nextForwardable } from './chunks';
import type { AnswerPart, BreakReason } from './continuation';
import { ChatError } from './errors';
import type { Logger } from './logger';
import type { RegionHealth } from './region-health';
import { nextWithin, StreamStalled, type IdleLimit } from './resilience/idle-timeout';
import { OverlapTrimmer } from './resilience/overlap';
import type { Served, Serving } from './served';
import { AnswerTally, type PartTally } from './stream-tally';
import type { Timers } from './timers';
import type { OpenedStream } from './upstream';

export interface StreamResult extends Served {
  /** The conversation of the chat, when it has one; read it once the chunks have ended for the final state. */
  readonly conversation?: () => ConversationOutcome;
  /** Chunks as the model sends them, minus Azure's prompt-filter-only chunk; the usage chunk last. */
  readonly chunks: AsyncIterable<ChatCompletionChunk>;
  /** Which region served which part of the answer so far (one part unless it was continued); final once `chunks` ends. */
  readonly parts: () => readonly AnswerPart[];
}

export interface RelayOptions {
  readonly health: RegionHealth;
  readonly logger: Logger;
  /** Whether the report carries the answer text (CHAT_LOG_CONTENT). */
  readonly captureContent: boolean;
  /** The client's signal: a stream it abandoned is not an interruption. */
  readonly clientSignal?: AbortSignal;
  /** Longest silence between two chunks before the stream counts as broken, ms (0: no limit). */
  readonly idleMs: number;
  /** Clock of the idle limit (default: the real one). */
  readonly timers?: Timers;
  /** How a broken answer is continued; absent: a break ends the stream with `stream_interrupted`. */
  readonly continuation?: ContinuationOptions;
}

export interface ContinuationOptions {
  /** Continuations of one answer at most (CHAT_MAX_CONTINUATIONS). */
  readonly max: number;
  /**
   * Opens the rest of the answer after `partial` (the text the client has) through the failover loop,
   * trying the regions in `broken` last; rejects with a ChatError when no region can.
   */
  readonly open: (partial: string, broken: readonly string[]) => Promise<Serving<OpenedStream>>;
}

/** How one part of the answer ended. */
type PartEnd =
  | { readonly kind: 'finished' | 'abandoned' }
  | { readonly kind: 'broken'; readonly reason: BreakReason; readonly error: unknown };

/** The consumer's chunks and parts; each upstream call ends with them (a consumer that stops early aborts it). */
export function relayStream(
  first: Serving<OpenedStream>,
  options: RelayOptions,
): Pick<StreamResult, 'chunks' | 'parts'> {
  const relay = new StreamRelay(first, options);
  return { chunks: relay.chunks(), parts: () => relay.tally.parts() };
}

class StreamRelay {
  readonly tally = new AnswerTally();
  readonly #first: Serving<OpenedStream>;
  readonly #options: RelayOptions;
  #outcome: CompletionReport['outcome'] = 'abandoned';

  constructor(first: Serving<OpenedStream>, options: RelayOptions) {
    this.#first = first;
    this.#options = options;
  }

  async *chunks(): AsyncGenerator<ChatCompletionChunk> {
    let serving: Serving<OpenedStream> | undefined = this.#first;
    try {
      while (serving !== undefined) {
        const end = yield* this.#relayPart(serving);
        if (end.kind !== 'broken') {
          this.#outcome = end.kind === 'finished' ? 'completed' : 'abandoned';
          return;
        }
        serving = await this.#continuation(serving, end);
      }
    } catch (error) {
      this.#outcome = 'interrupted';
      throw error;
    } finally {
      const { report, upstream } = this.#first;
      const { tally } = this;
      const toolCalls = tally.toolCalls.calls();
      const unmetered = tally.unmetered();
      const end = {
        outcome: this.#outcome,
        usage: tally.usage(),
        finishReason: tally.finishReason(),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      };
      await report.completed(upstream, {
        streamed: true,
        ...end,
        ...(unmetered ? { unmetered } : {}),
        answer: () => tally.text,
        parts: tally.parts(),
      });
    }
  }

  /** One upstream call's chunks, as the consumer gets them, and how the call ended. */
  async *#relayPart(serving: Serving<OpenedStream>): AsyncGenerator<ChatCompletionChunk, PartEnd> {
    const part = this.tally.startPart(serving.upstream.name);
    // A continuation starts with what the client has; its first words may repeat the end of it.
    const trimmer = part.index === 0 ? undefined : new OverlapTrimmer(this.tally.text);
    const { first, rest } = serving.answer;
    const limit: IdleLimit = {
      idleMs: this.#options.idleMs,
      onStall: () => serving.abort(new StreamStalled(this.#options.idleMs)),
      ...(this.#options.timers ? { timers: this.#options.timers } : {}),
    };
    try {
      for (let chunk = first; chunk !== undefined; chunk = await nextForwardable(rest, (c) => nextWithin(c, limit))) {
        const out = this.tally.forward(chunk, part, trimmer);
        if (out) yield out;
      }
      return this.#endOf(part, serving, new EndedEarly());
    } catch (error) {
      return this.#endOf(part, serving, error);
    } finally {
      serving.release();
      // Ends the upstream call if the consumer stopped early (client disconnect).
      if (!serving.signal.aborted) await rest.return?.(undefined);
    }
  }

  /** How a part that stopped (thrown `error`, or none) ended, recorded on the part. */
  #endOf(part: PartTally, serving: Serving<OpenedStream>, error: unknown): PartEnd {
    // The openai client ends a stream quietly when its signal aborts, so the signals say why it stopped.
    if (this.#options.clientSignal?.aborted) return { kind: 'abandoned' };
    // A break after the finish reason (before the usage chunk) lost no text.
    if (part.finishReason !== undefined) {
      part.ended = 'finished';
      return { kind: 'finished' };
    }
    const reason: BreakReason =
      error instanceof StreamStalled
        ? 'stall'
        : serving.signal.aborted
          ? 'deadline'
          : error instanceof EndedEarly
            ? 'ended-early'
            : 'reset';
    part.ended = reason;
    return { kind: 'broken', reason, error };
  }

  /** The next part of a broken answer, from another region; undefined when the client left meanwhile. */
  async #continuation(
    serving: Serving<OpenedStream>,
    end: PartEnd & { kind: 'broken' },
  ): Promise<Serving<OpenedStream> | undefined> {
    const region = serving.upstream.name;
    const { health, logger, continuation } = this.#options;
    health.recordFailure(region, end.reason === 'deadline' ? 'upstream_timeout' : 'stream_interrupted');
    const continued = this.tally.partCount() - 1;
    const refusal =
      continuation === undefined || continued >= continuation.max
        ? `no continuation left (${continued} made)`
        : end.reason === 'deadline'
          ? 'the request deadline passed'
          : this.tally.toolCalls.size > 0
            ? 'a tool call cannot be continued as text'
            : undefined;
    if (continuation === undefined || refusal !== undefined) throw this.#interrupted(region, end, refusal);
    logger.warn(`Stream from ${region} broke after the first byte (${end.reason}); continuing from another region`, {
      code: 'stream_interrupted',
      continuation: continued + 1,
    });
    try {
      return await continuation.open(this.tally.text, this.tally.regions());
    } catch (error) {
      if (this.#options.clientSignal?.aborted) return undefined;
      throw this.#interrupted(region, end, `no region could continue it: ${messageOf(error)}`);
    }
  }

  /** A stream that broke after its first byte and could not be continued. */
  #interrupted(region: string, end: PartEnd & { kind: 'broken' }, why: string | undefined): ChatError {
    const { served } = this.#first;
    this.#options.logger.warn(`Stream from ${region} broke after the first byte`, { code: 'stream_interrupted' });
    return new ChatError('stream_interrupted', {
      message:
        end.reason === 'deadline'
          ? 'The answer took too long and was cut off.'
          : 'The connection to the model broke mid-answer. The answer is incomplete; send the message again.',
      diagnosis: `Region ${region} stream ended early (${end.reason}): ${messageOf(end.error)}${why ? `; ${why}` : ''}`,
      requestId: served.requestId,
      attempts: served.attempts,
      cause: end.error,
    });
  }
}

/** A stream that ended (no error) without a finish reason: a break too. */
class EndedEarly extends Error {
  override readonly name = 'EndedEarly';
  constructor() {
    super('the stream ended without a finish reason');
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
