/**
 * What the chat service tells its observer (telemetry) and its log about one request: each upstream
 * attempt, then either how the answer ended or that no region answered. Observers are called
 * synchronously; one that throws is logged and ignored (telemetry must never fail a chat).
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { ChatError, type Attempt } from './errors';
import type { AnswerPart } from './continuation';
import type { AttemptEvent } from './failover';
import type { Logger } from './logger';
import type { Settlement } from './quota-settlement';
import type { BreakerChange } from './region-health';
import type { AnswerToolCall } from './tool-calls';
import type { Answer, Upstream } from './upstream';

/** One upstream attempt as an observer sees it (skipped regions are not reported). */
export interface AttemptReport extends Attempt {
  /** Position in the request's attempt list, skipped regions included (1 = first region tried). */
  readonly attemptNumber: number;
  readonly error?: ChatError;
  readonly requestId: string;
  readonly traceParent?: string;
  readonly model: string;
  readonly deployment: string;
  /** The region's resource endpoint (no credentials in it). */
  readonly endpoint: string;
  /** Azure's `apim-request-id` of the answer, when one came back: what Azure support asks for. */
  readonly upstreamRequestId?: string;
  /** Wall-clock time the attempt ended, epoch ms (its start is `endedAt - durationMs`). */
  readonly endedAt: number;
  /** The attempt that answered: from the start of the request (all attempts) to its first byte, ms. */
  readonly firstTokenMs?: number;
}

/** A request that got an answer, once the answer (or the stream) has ended. */
export interface CompletionReport {
  readonly requestId: string;
  readonly traceParent?: string;
  readonly model: string;
  readonly region: string;
  readonly deployment: string;
  readonly streamed: boolean;
  readonly usage?: CompletionUsage;
  /** From the start of the request (all attempts) to the first byte of the answer, ms. */
  readonly firstTokenMs: number;
  /** From the start of the request to the end of the answer, ms. */
  readonly durationMs: number;
  readonly finishReason?: string;
  /** Function calls the answer made (their number only: arguments are payload, never logged). */
  readonly toolCalls?: number;
  /** `interrupted`: the region broke mid-stream; `abandoned`: the consumer stopped reading. */
  readonly outcome: 'completed' | 'interrupted' | 'abandoned';
  /** Prompt and answer text: only when the observer sets `captureContent`. */
  readonly content?: { readonly messages: readonly ChatCompletionMessageParam[]; readonly answer: string };
  /**
   * A stream continued from another region after a break: which region served which part, in order
   * (`region` is the first). Absent for an answer served whole. `usage` adds up every part.
   */
  readonly parts?: readonly AnswerPart[];
}

/** A request that got no answer from any region (or was refused by the first one). */
export interface FailureReport {
  readonly requestId: string;
  readonly traceParent?: string;
  readonly model: string;
  /** Regions that deploy the model, in the order they are tried. */
  readonly regions: readonly string[];
  readonly error: ChatError;
}

/** Hooks for telemetry. Called synchronously; an observer that throws is logged and ignored. */
export interface ChatObserver {
  /** Whether completion reports carry prompt and answer text (CHAT_LOG_CONTENT). Default false. */
  readonly captureContent?: boolean;
  onAttempt?(attempt: AttemptReport): void;
  onBreakerChange?(change: BreakerChange): void;
  onCompleted?(report: CompletionReport): void;
  onFailed?(report: FailureReport): void;
}

/** How an answer ended, as the one who read it knows. */
export interface AnswerEnd {
  readonly streamed: boolean;
  readonly outcome: CompletionReport['outcome'];
  readonly usage: CompletionUsage | undefined;
  readonly finishReason: string | undefined;
  /** The function calls the answer made (streamed: as far as they came). */
  readonly toolCalls?: readonly AnswerToolCall[];
  /** The answer text; only read when content is captured. */
  readonly answer: () => string;
  /** A stream served in more than one part (a continuation): the parts. */
  readonly parts?: readonly AnswerPart[];
  /**
   * A stream that ended without its usage (the client left, or it broke): how many upstream calls sent no
   * usage, and the content chunks they streamed (Azure streams about one token a chunk). Absent with `usage`.
   */
  readonly unmetered?: { readonly calls: number; readonly chunks: number };
}

/** Calls the observer; an observer that throws is logged and ignored. */
export function notify(observer: ChatObserver | undefined, logger: Logger, call: (o: ChatObserver) => void): void {
  if (observer === undefined) return;
  try {
    call(observer);
  } catch (error) {
    logger.warn('Telemetry observer failed', { error: error instanceof Error ? error.message : String(error) });
  }
}

export interface RequestReportOptions {
  readonly observer?: ChatObserver;
  readonly logger: Logger;
  readonly requestId: string;
  readonly traceParent?: string;
  readonly model: string;
  readonly messages: readonly ChatCompletionMessageParam[];
  /** The caller's quota reservation, settled on every ending: answered (however it ended) or failed. */
  readonly settlement?: Settlement;
  /** Told how the answer ended, text included, however it ended (a conversation stores it); never rejects. */
  readonly onAnswer?: (end: AnswerEnd) => Promise<void>;
}

/** The reports of one request, bound to it: its id, trace, model and clock. */
export class RequestReport {
  readonly #options: RequestReportOptions;
  readonly #traced: { traceParent?: string };
  // Telemetry clock: wall time, independent of the (injectable) health clock.
  readonly #startedAt = performance.now();
  #firstTokenMs: number | undefined;
  #completed = false;

  constructor(options: RequestReportOptions) {
    this.#options = options;
    this.#traced = options.traceParent === undefined ? {} : { traceParent: options.traceParent };
  }

  /** One attempt ended (answered or failed): a log line and an AttemptReport. */
  attempt(event: AttemptEvent<Answer<unknown>>, upstream: Upstream): void {
    const { attempt, attemptNumber } = event;
    this.#logger.info(`Attempt ${attemptNumber} on ${attempt.region}: ${attempt.status}`, {
      region: attempt.region,
      status: attempt.status,
      durationMs: attempt.durationMs,
      ...(attempt.code ? { code: attempt.code } : {}),
    });
    const answered = event.kind === 'answered';
    // A continuation's attempt answers too; the first byte the client got is the first answer's.
    if (answered) this.#firstTokenMs ??= performance.now() - this.#startedAt;
    const upstreamRequestId = answered ? event.value.upstreamRequestId : event.error.upstreamRequestId;
    this.#notify((o) =>
      o.onAttempt?.({
        ...attempt,
        attemptNumber,
        ...(answered ? { firstTokenMs: this.#firstTokenMs } : { error: event.error }),
        ...this.#traced,
        requestId: this.#options.requestId,
        model: this.#options.model,
        deployment: upstream.deployment(this.#options.model) ?? this.#options.model,
        endpoint: upstream.region.endpoint,
        ...(upstreamRequestId === undefined ? {} : { upstreamRequestId }),
        endedAt: Date.now(),
      }),
    );
  }

  /** No region answered (or the first one refused): a FailureReport for a ChatError; the reservation settled. */
  async failed(error: unknown, regions: readonly string[]): Promise<void> {
    const settled = this.#options.settlement?.failed(error);
    if (error instanceof ChatError) {
      const { requestId, model } = this.#options;
      this.#notify((o) => o.onFailed?.({ requestId, ...this.#traced, model, regions, error }));
    }
    await settled;
  }

  /** The answer from `upstream` ended: a CompletionReport, once (later calls are ignored). */
  /**
   * The answer has ended: the observer hears of it, and the usage is counted. Resolves once it is counted:
   * an instance of a serverless app may be frozen as soon as the response ends, so nothing is left to run
   * after it.
   */
  async completed(upstream: Upstream, end: AnswerEnd): Promise<void> {
    if (this.#completed) return;
    this.#completed = true;
    const counted = this.#options.settlement?.answered(end);
    const stored = this.#options.onAnswer?.(end);
    this.#observeCompletion(upstream, end);
    await Promise.all([counted, stored]);
  }

  #observeCompletion(upstream: Upstream, end: AnswerEnd): void {
    const { observer, requestId, model, messages } = this.#options;
    if (observer?.onCompleted === undefined) return;
    this.#notify((o) =>
      o.onCompleted?.({
        requestId,
        ...this.#traced,
        model,
        region: upstream.name,
        deployment: upstream.deployment(model) ?? model,
        streamed: end.streamed,
        ...(end.usage ? { usage: end.usage } : {}),
        firstTokenMs: this.#firstTokenMs ?? performance.now() - this.#startedAt,
        durationMs: performance.now() - this.#startedAt,
        ...(end.finishReason ? { finishReason: end.finishReason } : {}),
        ...(end.toolCalls && end.toolCalls.length > 0 ? { toolCalls: end.toolCalls.length } : {}),
        outcome: end.outcome,
        ...(end.parts && end.parts.length > 1 ? { parts: end.parts } : {}),
        ...(observer.captureContent === true ? { content: { messages, answer: end.answer() } } : {}),
      }),
    );
  }

  get #logger(): Logger {
    return this.#options.logger;
  }

  #notify(call: (o: ChatObserver) => void): void {
    notify(this.#options.observer, this.#options.logger, call);
  }
}
