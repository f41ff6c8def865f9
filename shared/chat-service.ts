/**
 * The shared client module's front door: a chat request in, an answer (or a stream) out, from the
 * first region that can serve it. Handlers call this and nothing else upstream.
 *
 * One chat, top to bottom ({@link ChatService.complete} / {@link ChatService.stream} over `#serve`):
 * route the model to the regions that deploy it, admit the caller against their quota, run the failover
 * loop over the regions' {@link Upstream}s, report each attempt and the outcome ({@link RequestReport},
 * which also hands the answer's real usage to the quota), then hand back the answer. A stream that
 * breaks mid-answer is continued from another region by `relayStream` (./chat-stream.ts), which calls
 * back into the failover loop (`#failover`, not `#serve`: a continuation is the same request, already
 * admitted and reported).
 */
import { randomBytes } from 'node:crypto';
import type { ChatCompletion, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { Caller } from './auth/caller';
import { relayStream, type StreamResult } from './chat-stream';
import { notify, RequestReport, type AnswerEnd, type ChatObserver } from './chat-report';
import { configuredModels, type AppConfig } from './config';
import { loadTokenizer } from './conversations/service';
import type { ConversationOutcome, ConversationRequest, ConversationTurn, TurnRequest } from './conversations/turn';
import { continuationMessages } from './continuation';
import type { CredentialSet } from './credentials';
import { ChatError } from './errors';
import { runWithFailover } from './failover';
import { silentLogger, type Logger } from './logger';
import { doctorRegionCheck } from './doctor';
import { RegionHealth } from './region-health';
import { homeUnavailable, homeUnknown, notIssued } from './responses/home';
import { ownerOf, ResponseIds } from './responses/ids';
import { completionUsage, toRegional, type RegionalRequest, type ResponseParams } from './responses/request';
import { relayResponseStream } from './responses/stream';
import { functionCallsOf, toolCallsOf } from './tool-calls';
import { settlement, type QuotaReservation } from './quota-settlement';
import type { Served, Serving } from './served';
import { HEALTH_CHECK_DEFAULTS, StampHealth, type HealthCheckSettings } from './stamp-health';
import { promptBound } from './token-bound';
import type { Timers } from './timers';
import { Upstream, type Answer, type CallOptions, type CompletionParams, type OpenedStream } from './upstream';

export type { AttemptReport, ChatObserver, CompletionReport, FailureReport } from './chat-report';
export type { StreamResult } from './chat-stream';
export type { Served } from './served';
export type { AnswerPart } from './continuation';

/** Parameters passed through to the model (everything but what this backend decides). */
export type ModelParams = Omit<CompletionParams, 'messages' | 'stream_options'>;

export interface ChatRequest {
  /** Logical model name (e.g. `gpt-4o`); default: the configured default model. */
  readonly model?: string;
  readonly messages: readonly ChatCompletionMessageParam[];
  readonly params?: ModelParams;
  readonly requestId: string;
  /** Aborted when the client goes away: the upstream call is aborted too. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /**
   * W3C `traceparent` of the function invocation (`InvocationContext.traceContext.traceParent`): the
   * observer parents its telemetry on it so upstream attempts show under the host's request.
   */
  readonly traceParent?: string;
  /** Who asked (the gate's admitted caller): quotas and history are theirs. Absent in direct calls (tests). */
  readonly caller?: Caller;
  /** The conversation this chat belongs to; absent: stateless, nothing loaded or stored. Needs a caller. */
  readonly conversation?: ConversationRequest;
  /** The request's `Idempotency-Key`: a retry with the same key does not store its turn twice. */
  readonly idempotencyKey?: string;
  /**
   * Only this region may serve: a Responses API follow-up goes to the region that stored what it refers
   * to. Default: every region that deploys the model, in order.
   */
  readonly pinnedRegion?: string;
}

/**
 * A Responses API request (POST /v1/responses): the body's fields but `model` and `stream`, ids as the
 * backend gave them out; the ids it refers to must have been given to its `caller` (shared/responses/ids.ts).
 */
export interface ResponsesRequest extends Omit<ChatRequest, 'messages' | 'params' | 'pinnedRegion'> {
  readonly params: ResponseParams;
}

export interface ResponseResult extends Served {
  /** The response, its ids tagged with the region that stored it and bound to the caller (shared/responses/ids.ts). */
  readonly response: Omit<Response, 'output_text'>;
}

export interface ResponseStreamResult extends Served {
  /** The events as the region sends them, ids tagged; ends with a terminal event or throws a ChatError. */
  readonly events: AsyncIterable<ResponseStreamEvent>;
}

export interface CompletionResult extends Served {
  readonly completion: ChatCompletion;
  /** The conversation of the chat, when it has one (its answer is stored by the time the result is returned). */
  readonly conversation?: () => ConversationOutcome;
}

/** Per-caller history (shared/conversations): a turn begun (and admitted), its answer stored when it ends. */
export interface ChatHistory {
  /**
   * The turn: the messages to send, and where its answer goes; calls `admit` once the turn is valid, before
   * storing its question. Rejects only with a ChatError for the client (the quota's among them).
   */
  begin(request: TurnRequest): Promise<ConversationTurn>;
}

/**
 * Per-caller limits (shared/quota): a request's tokens reserved before any region is called (an upper bound of
 * its prompt plus its completion limit), the reservation settled on every ending (./quota-settlement.ts).
 */
export interface CallerQuota {
  /** Resolves with the reservation when the caller may go on; rejects with a 429 ChatError when over a limit. */
  reserve(caller: Caller, tokens: number): Promise<QuotaReservation>;
}

export interface ChatServiceOptions {
  readonly config: AppConfig;
  /** Limits per caller; requests without a caller (direct calls, tests) are not counted. */
  readonly quota?: CallerQuota;
  /** Conversations; absent: every chat is stateless. */
  readonly history?: ChatHistory;
  readonly credentials: CredentialSet;
  readonly logger?: Logger;
  readonly observer?: ChatObserver;
  /** Health clock; injectable so tests move time without sleeping. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock of the stream idle limit (default: the real one); injectable so tests fire it by hand. */
  readonly timers?: Timers;
  /** fetch for the openai clients (tests may wrap it). */
  readonly fetch?: typeof fetch;
  /** How `GET /api/health` checks regions with no recent success (CHAT_HEALTH_CHECK_*); default the defaults. */
  readonly healthCheck?: HealthCheckSettings;
}

/** The model a request asks for, and the regions that deploy it, in order. */
interface Route {
  readonly model: string;
  readonly upstreams: readonly Upstream[];
}

/** One pass of the failover loop for a request: over which regions, reported where, until when. */
interface FailoverPass {
  readonly model: string;
  readonly regions: readonly string[];
  readonly report: RequestReport;
  /** Absolute time (health clock): the request's deadline, the same for its continuations. */
  readonly deadline: number;
}

/** A request admitted, with the messages to send (its conversation's history fitted in), its turn and its reservation. */
interface Begun {
  readonly messages: ChatCompletionMessageParam[];
  readonly turn?: ConversationTurn;
  readonly reservation?: QuotaReservation;
}

/** What a request sends and may get back, for its quota reservation. */
interface Estimate {
  /** Everything the region reads of the request (messages, tools, instructions): its prompt's upper bound. */
  readonly sent: unknown;
  /** The request's completion limit (`max_tokens`, `max_completion_tokens`, `max_output_tokens`), if it set one. */
  readonly maxOutput?: number | null;
}

/**
 * Completion tokens reserved for a request that sets no limit: the most the gpt-4o family writes in one answer
 * (16,384). The reservation is settled with the real usage when the answer ends.
 */
export const DEFAULT_COMPLETION_RESERVE = 16_384;

/** The conversation's outcome on a result, read when the handler answers (it changes once the answer is stored). */
function conversationOf(turn: ConversationTurn | undefined): { conversation?: () => ConversationOutcome } {
  return turn ? { conversation: () => turn.outcome() } : {};
}

/** How an answer ended, as a conversation stores it. */
function answerRecord(end: AnswerEnd) {
  return {
    text: end.answer(),
    outcome: end.outcome,
    ...(end.finishReason ? { finishReason: end.finishReason } : {}),
    ...(end.usage ? { completionTokens: end.usage.completion_tokens } : {}),
    // A call cut short is never stored: sent back later it would be a call without its result.
    ...(end.outcome === 'completed' && end.toolCalls && end.toolCalls.length > 0 ? { toolCalls: end.toolCalls } : {}),
  };
}

/** How one streamed call is made, given the messages to send. */
type StreamCall = (
  messages: ChatCompletionMessageParam[],
) => (upstream: Upstream, call: CallOptions) => Promise<Answer<OpenedStream>>;

export class ChatService {
  readonly health: RegionHealth;
  /** Whether this stamp can serve, for `GET /api/health`: the breakers above, and a real check when they know nothing fresh. */
  readonly stamp: StampHealth;
  readonly #upstreams: ReadonlyMap<string, Upstream>;
  readonly #options: ChatServiceOptions;
  /** Responses API ids; without CHAT_RESPONSE_ID_SECRET, a secret of this process (ids die with it). */
  readonly #ids: ResponseIds;

  constructor(options: ChatServiceOptions) {
    this.#options = options;
    const { config } = options;
    this.#ids = new ResponseIds(config.responseIdSecret ?? randomBytes(32));
    const logger = options.logger ?? silentLogger;
    this.health = new RegionHealth({
      regions: config.regions.map((r) => r.name),
      failureThreshold: config.breakerFailureThreshold,
      cooldownMs: config.breakerCooldownMs,
      ...(options.now ? { now: options.now } : {}),
      onBreakerChange: (change) => {
        logger.warn(`Region ${change.region} breaker ${change.from} -> ${change.to}`);
        notify(options.observer, logger, (o) => o.onBreakerChange?.(change));
      },
    });
    const healthCheck = options.healthCheck ?? HEALTH_CHECK_DEFAULTS;
    this.stamp = new StampHealth({
      health: this.health,
      regions: config.regions.map((r) => r.name),
      check: doctorRegionCheck({
        config,
        credentials: options.credentials,
        timeoutMs: healthCheck.timeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
      settings: healthCheck,
      logger,
    });
    this.#upstreams = new Map(
      config.regions.map((region) => {
        const upstream = new Upstream({
          region,
          auth: options.credentials.forRegion(region),
          authMode: config.auth.mode,
          timeoutMs: config.requestTimeoutMs,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
        return [region.name, upstream];
      }),
    );
  }

  get config(): AppConfig {
    return this.#options.config;
  }

  /** Logical model names clients may ask for. */
  models(): string[] {
    return configuredModels(this.#options.config);
  }

  async complete(request: ChatRequest): Promise<CompletionResult> {
    const begun = await this.#begin(request);
    const { messages } = begun;
    const serving = await this.#serve(request, begun, (upstream, call) =>
      upstream.complete({ ...request.params, messages }, call),
    );
    serving.release();
    const completion = serving.answer;
    const choice = completion.choices[0];
    await serving.report.completed(serving.upstream, {
      streamed: false,
      outcome: 'completed',
      usage: completion.usage,
      finishReason: choice?.finish_reason,
      toolCalls: toolCallsOf(choice?.message),
      answer: () => choice?.message.content ?? '',
    });
    return { ...serving.served, completion, ...conversationOf(begun.turn) };
  }

  async stream(request: ChatRequest): Promise<StreamResult> {
    const begun = await this.#begin(request);
    const send: StreamCall = (sent) => (upstream, call) =>
      // Always ask for usage: token counts for telemetry; handlers drop it if the client did not ask.
      upstream.stream({ ...request.params, messages: sent, stream_options: { include_usage: true } }, call);
    const serving = await this.#serve(request, begun, send(begun.messages));
    const { config } = this.#options;
    // Several choices (n > 1) cannot be continued as one text.
    const continuable = config.maxContinuations > 0 && (request.params?.n ?? 1) <= 1;
    const relayed = relayStream(serving, {
      health: this.health,
      logger: this.#logger(request),
      captureContent: this.#options.observer?.captureContent === true,
      idleMs: config.streamIdleTimeoutMs,
      ...(this.#options.timers ? { timers: this.#options.timers } : {}),
      ...(request.signal ? { clientSignal: request.signal } : {}),
      ...(continuable ? { continuation: this.#continuation(request, begun.messages, serving, send) } : {}),
    });
    return { ...serving.served, ...relayed, ...conversationOf(begun.turn) };
  }

  /** A whole Responses API answer, through the same quota, failover and report as a chat. */
  async respond(request: ResponsesRequest): Promise<ResponseResult> {
    const regional = this.#regional(request);
    const serving = await this.#serveResponse(request, regional, (u, call) => u.respond(regional.params, call));
    serving.release();
    // output_text is the SDK's convenience, not part of the wire format.
    const issuer = this.#ids.issuer(serving.upstream.name, ownerOf(request.caller));
    const { output_text: text, ...response } = issuer.response(serving.answer);
    const usage = completionUsage(response.usage);
    const toolCalls = functionCallsOf(response.output);
    const end = { streamed: false, outcome: 'completed' as const, usage, finishReason: response.status, toolCalls };
    await serving.report.completed(serving.upstream, { ...end, answer: () => text });
    return { ...serving.served, response };
  }

  /** A streamed Responses API answer: failover before the first event with output; see shared/responses/stream.ts. */
  async respondStream(request: ResponsesRequest): Promise<ResponseStreamResult> {
    const regional = this.#regional(request);
    const serving = await this.#serveResponse(request, regional, (u, call) => u.respondStream(regional.params, call));
    const events = relayResponseStream(serving, {
      health: this.health,
      logger: this.#logger(request),
      issue: this.#ids.issuer(serving.upstream.name, ownerOf(request.caller)).event,
      idleMs: this.#options.config.streamIdleTimeoutMs,
      ...(this.#options.timers ? { timers: this.#options.timers } : {}),
      ...(request.signal ? { clientSignal: request.signal } : {}),
    });
    return { ...serving.served, events };
  }

  /** The request with Azure's ids; `previous_response_not_found` when it names an id not given to its caller. */
  #regional(request: ResponsesRequest): RegionalRequest {
    const owner = ownerOf(request.caller);
    return toRegional(
      request.params,
      (id) => this.#ids.read(id, owner),
      () => notIssued(request.requestId),
    );
  }

  /** `#serve` for a Responses request; a follow-up only from its home region (shared/responses/home.ts). */
  async #serveResponse<T>(
    request: ResponsesRequest,
    regional: RegionalRequest,
    send: (upstream: Upstream, call: CallOptions) => Promise<Answer<T>>,
  ): Promise<Serving<T>> {
    const { home, messages } = regional;
    const { params: _sent, ...meta } = request;
    const chat: ChatRequest = { ...meta, messages, ...(home === undefined ? {} : { pinnedRegion: home }) };
    const model = request.model ?? this.#options.config.defaultModel;
    if (home !== undefined && this.#upstreams.get(home)?.deployment(model) === undefined) {
      throw homeUnknown(home, model, request.requestId);
    }
    const begun = await this.#begin(chat, { sent: regional.params, maxOutput: regional.params.max_output_tokens });
    if (home === undefined) return this.#serve(chat, begun, send);
    return this.#serve(chat, begun, send).catch((error: unknown) => {
      throw homeUnavailable(error, home);
    });
  }

  /** Continuations of `first`'s answer: the same request and deadline, the regions that broke tried last. */
  #continuation(
    request: ChatRequest,
    messages: readonly ChatCompletionMessageParam[],
    first: Serving<OpenedStream>,
    send: StreamCall,
  ) {
    const { model } = first.served;
    return {
      max: this.#options.config.maxContinuations,
      open: (partial: string, broken: readonly string[]) => {
        const regions = [...first.regions.filter((r) => !broken.includes(r)), ...broken];
        const pass = { model, regions, report: first.report, deadline: first.deadline };
        return this.#failover(request, pass, send(continuationMessages(messages, partial)));
      },
    };
  }

  /**
   * Before any region is called: the caller's conversation checked and loaded (history fitted), the caller
   * admitted against their quota (a caller over their limit costs no tokens), then the question stored. The
   * quota is asked after the load, so a request refused for its conversation (404, 413) costs no quota.
   */
  async #begin(request: ChatRequest, estimate?: Estimate): Promise<Begun> {
    const { requestId, caller, conversation } = request;
    this.#route(request); // an unknown model is refused before anything is counted or stored
    const quota = this.#options.quota;
    const maxTokens = request.params?.max_completion_tokens ?? request.params?.max_tokens ?? undefined;
    let reservation: QuotaReservation | undefined;
    // The reservation: an upper bound of what is sent (no tokenizer: microseconds), the history the conversation
    // adds, and the completion limit.
    const admit =
      caller && quota
        ? async (historyTokens: number) => {
            const { sent, maxOutput } = estimate ?? {
              sent: [request.messages, request.params?.tools],
              maxOutput: maxTokens,
            };
            const tokens = promptBound(sent) + historyTokens + (maxOutput ?? DEFAULT_COMPLETION_RESERVE);
            reservation = await quota.reserve(caller, tokens);
          }
        : undefined;
    const history = this.#options.history;
    try {
      if (!caller || !conversation || !history) {
        if (admit) await admit(0);
        return { messages: [...request.messages], ...(reservation ? { reservation } : {}) };
      }
      const turn = await history.begin({
        caller,
        conversation,
        messages: request.messages,
        logger: this.#logger(request),
        ...(admit ? { admit } : {}),
        ...(maxTokens == null ? {} : { maxTokens }),
        ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
      });
      return { messages: turn.messages, turn, ...(reservation ? { reservation } : {}) };
    } catch (error) {
      // Refused after its admission (its conversation, its context length): no region was asked.
      await reservation?.release();
      throw error instanceof ChatError ? error.with({ requestId }) : error;
    }
  }

  /** Route, then the failover loop over the route's upstreams, each attempt and the outcome reported. */
  async #serve<T>(
    request: ChatRequest,
    begun: Begun,
    send: (upstream: Upstream, call: CallOptions) => Promise<Answer<T>>,
  ): Promise<Serving<T>> {
    const { model, upstreams } = this.#route(request);
    const { requestId } = request;
    const { turn, reservation } = begun;
    const logger = this.#logger(request);
    const promptTokens = async () => (await loadTokenizer()).countPromptTokensAsync(begun.messages);
    const report = new RequestReport({
      logger,
      requestId,
      model,
      messages: begun.messages,
      ...(reservation ? { settlement: settlement({ reservation, promptTokens, logger }) } : {}),
      ...(turn ? { onAnswer: (end) => turn.finish(answerRecord(end)) } : {}),
      ...(this.#options.observer ? { observer: this.#options.observer } : {}),
      ...(request.traceParent === undefined ? {} : { traceParent: request.traceParent }),
    });
    const regions = upstreams.map((u) => u.name);
    const deadline = this.health.now() + this.#options.config.requestTimeoutMs;
    return this.#failover(request, { model, regions, report, deadline }, send).catch(async (error: unknown) => {
      await report.failed(error, regions);
      // No answer: the question is not kept in the conversation (never replayed, never shown unanswered).
      await turn?.discard();
      throw error;
    });
  }

  /** The failover loop over the pass's regions, each attempt reported; the answer with what it takes to finish it. */
  async #failover<T>(
    request: ChatRequest,
    pass: FailoverPass,
    send: (upstream: Upstream, call: CallOptions) => Promise<Answer<T>>,
  ): Promise<Serving<T>> {
    const { model, regions, report, deadline } = pass;
    const { requestId, signal } = request;
    const logger = this.#logger(request);
    const won = await runWithFailover({
      regions,
      health: this.health,
      ...this.#limits(deadline),
      requestId,
      ...(signal ? { signal } : {}),
      ...(this.#options.sleep ? { sleep: this.#options.sleep } : {}),
      attempt: (region, attemptSignal) =>
        send(this.#upstream(region), { model, requestId, signal: attemptSignal, logger }),
      onAttempt: (event) => report.attempt(event, this.#upstream(event.attempt.region)),
    });
    const served = { model, region: won.region, attempts: won.attempts, requestId };
    const upstream = this.#upstream(won.region);
    const { signal: callSignal, done: release, abort } = won;
    return { served, upstream, answer: won.value.value, signal: callSignal, release, abort, report, regions, deadline };
  }

  /** The model asked for and the regions that deploy it; `unknown_model` when none does. */
  #route(request: ChatRequest): Route {
    const model = request.model ?? this.#options.config.defaultModel;
    const pinned = request.pinnedRegion;
    const upstreams = [...this.#upstreams.values()].filter(
      (u) => u.deployment(model) !== undefined && (pinned === undefined || u.name === pinned),
    );
    if (upstreams.length === 0) {
      throw new ChatError('unknown_model', {
        message: `Unknown model "${model}". Available: ${this.models().join(', ')}.`,
        requestId: request.requestId,
      });
    }
    return { model, upstreams };
  }

  /** The failover loop's time limits for a request due by `deadline`. */
  #limits(deadline: number): { attemptTimeoutMs: number; deadline: number; maxThrottleWaitMs: number } {
    const { config } = this.#options;
    return { attemptTimeoutMs: config.attemptTimeoutMs, deadline, maxThrottleWaitMs: config.maxThrottleWaitMs };
  }

  #logger(request: Pick<ChatRequest, 'logger'>): Logger {
    return request.logger ?? this.#options.logger ?? silentLogger;
  }

  #upstream(name: string): Upstream {
    const upstream = this.#upstreams.get(name);
    if (!upstream) throw new Error(`No upstream for region ${name}`);
    return upstream;
  }
}
