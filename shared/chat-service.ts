/**
 * The shared client module's front door: a chat request in, an answer (or a stream) out, from the
 * first region that can serve it. Handlers call this and nothing else upstream.
 */
import OpenAI, { APIError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { configuredModels, type AppConfig, type RegionConfig } from './config';
import type { CredentialSet, RegionAuth } from './credentials';
import { ChatError, fromUpstream, type Attempt } from './errors';
import { runWithFailover } from './failover';
import { silentLogger, type Logger } from './logger';
import { RegionHealth, type BreakerChange } from './region-health';

/** Parameters passed through to the model (everything but what this backend decides). */
export type ModelParams = Omit<
  ChatCompletionCreateParamsNonStreaming,
  'model' | 'messages' | 'stream' | 'stream_options'
>;

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
}

/** Where and how a request was served. */
export interface Served {
  readonly model: string;
  readonly region: string;
  readonly attempts: readonly Attempt[];
  readonly requestId: string;
}

export interface CompletionResult extends Served {
  readonly completion: ChatCompletion;
}

export interface StreamResult extends Served {
  /** Chunks as the model sends them, minus Azure's prompt-filter-only chunk; the usage chunk last. */
  readonly chunks: AsyncIterable<ChatCompletionChunk>;
}

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
  /** `interrupted`: the region broke mid-stream; `abandoned`: the consumer stopped reading. */
  readonly outcome: 'completed' | 'interrupted' | 'abandoned';
  /** Prompt and answer text: only when the observer sets `captureContent`. */
  readonly content?: { readonly messages: readonly ChatCompletionMessageParam[]; readonly answer: string };
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

export interface ChatServiceOptions {
  readonly config: AppConfig;
  readonly credentials: CredentialSet;
  readonly logger?: Logger;
  readonly observer?: ChatObserver;
  /** Health clock; injectable so tests move time without sleeping. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** fetch for the openai clients (tests may wrap it). */
  readonly fetch?: typeof fetch;
}

interface Upstream {
  readonly region: RegionConfig;
  readonly client: OpenAI;
  readonly auth: RegionAuth;
}

export class ChatService {
  readonly health: RegionHealth;
  readonly #upstreams: ReadonlyMap<string, Upstream>;
  readonly #options: ChatServiceOptions;

  constructor(options: ChatServiceOptions) {
    this.#options = options;
    const { config } = options;
    this.health = new RegionHealth({
      regions: config.regions.map((r) => r.name),
      failureThreshold: config.breakerFailureThreshold,
      cooldownMs: config.breakerCooldownMs,
      ...(options.now ? { now: options.now } : {}),
      onBreakerChange: (change) => {
        (options.logger ?? silentLogger).warn(`Region ${change.region} breaker ${change.from} -> ${change.to}`);
        this.#notify(options.logger, (o) => o.onBreakerChange?.(change));
      },
    });
    this.#upstreams = new Map(
      config.regions.map((region) => {
        const auth = options.credentials.forRegion(region);
        const client = new OpenAI({
          baseURL: new URL('openai/v1/', region.endpoint).toString(),
          apiKey: auth.apiKey,
          // One layer retries: ours. The SDK would retry 429/5xx against the same region.
          maxRetries: 0,
          timeout: config.requestTimeoutMs,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
        return [region.name, { region, client, auth }];
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
    const served = await this.#serve(request, async (upstream, deployment, signal, headers, onResponse) => {
      const { data, response } = await upstream.client.chat.completions
        .create(
          { ...request.params, model: deployment, messages: [...request.messages], stream: false },
          { signal, headers },
        )
        .withResponse();
      onResponse(response);
      return data;
    });
    served.done();
    const completion = served.value;
    const choice = completion.choices[0];
    served.report({
      streamed: false,
      outcome: 'completed',
      usage: completion.usage,
      finishReason: choice?.finish_reason,
      answer: () => choice?.message.content ?? '',
    });
    return { ...served.meta, completion };
  }

  async stream(request: ChatRequest): Promise<StreamResult> {
    const served = await this.#serve(request, async (upstream, deployment, signal, headers, onResponse) => {
      const { data: stream, response } = await upstream.client.chat.completions
        .create(
          {
            ...request.params,
            model: deployment,
            messages: [...request.messages],
            stream: true,
            // Always ask for usage: token counts for telemetry; handlers drop it if the client did not ask.
            stream_options: { include_usage: true },
          },
          { signal, headers },
        )
        .withResponse();
      onResponse(response);
      const iterator = stream[Symbol.asyncIterator]();
      // The first byte that counts is the first chunk worth forwarding; Azure's opening chunk
      // (choices: [], prompt_filter_results only) is not, so failover stays possible until then.
      for (;;) {
        const next = await iterator.next();
        if (next.done) return { first: undefined, iterator };
        if (isForwardable(next.value)) return { first: next.value, iterator };
      }
    });
    const { meta, value, signal, done, report } = served;
    const health = this.health;
    const logger = request.logger ?? this.#options.logger ?? silentLogger;
    const captureContent = this.#options.observer?.captureContent === true;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      // What the observer hears when the stream ends (any way it ends).
      let outcome: CompletionReport['outcome'] = 'abandoned';
      let usage: CompletionUsage | undefined;
      let finishReason: string | undefined;
      let answer = '';
      const seen = (chunk: ChatCompletionChunk) => {
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (captureContent) answer += choice?.delta.content ?? '';
        return chunk;
      };
      try {
        if (value.first === undefined) {
          outcome = 'completed';
          return;
        }
        yield seen(value.first);
        for (;;) {
          const next = await value.iterator.next();
          if (next.done) {
            outcome = 'completed';
            return;
          }
          if (isForwardable(next.value)) yield seen(next.value);
        }
      } catch (error) {
        if (request.signal?.aborted) return; // the client left; nothing to tell it
        outcome = 'interrupted';
        const timedOut = signal.aborted;
        health.recordFailure(meta.region, timedOut ? 'upstream_timeout' : 'stream_interrupted');
        logger.warn(`Stream from ${meta.region} broke after the first byte`, { code: 'stream_interrupted' });
        throw new ChatError('stream_interrupted', {
          message: timedOut
            ? 'The answer took too long and was cut off.'
            : 'The connection to the model broke mid-answer. The answer is incomplete; send the message again.',
          diagnosis: `Region ${meta.region} stream ended early: ${error instanceof Error ? error.message : String(error)}`,
          requestId: meta.requestId,
          attempts: meta.attempts,
          cause: error,
        });
      } finally {
        done();
        report({ streamed: true, outcome, usage, finishReason, answer: () => answer });
        // Ends the upstream call if the consumer stopped early (client disconnect).
        if (!signal.aborted) await value.iterator.return?.(undefined);
      }
    }
    return { ...meta, chunks: chunks() };
  }

  async #serve<T>(
    request: ChatRequest,
    call: (
      upstream: Upstream,
      deployment: string,
      signal: AbortSignal,
      headers: Record<string, string | null>,
      onResponse: (response: Response) => void,
    ) => Promise<T>,
  ) {
    const { config } = this.#options;
    const logger = request.logger ?? this.#options.logger ?? silentLogger;
    const model = request.model ?? config.defaultModel;
    // Telemetry clock: wall time, independent of the (injectable) health clock.
    const startedAt = performance.now();
    const traced = request.traceParent === undefined ? {} : { traceParent: request.traceParent };
    // Azure's id of the answer to the attempt in flight; attempts of one request run one at a time.
    let upstreamRequestId: string | undefined;
    const regions = config.regions.filter((r) => r.deployments[model] !== undefined).map((r) => r.name);
    if (regions.length === 0) {
      throw new ChatError('unknown_model', {
        message: `Unknown model "${model}". Available: ${this.models().join(', ')}.`,
        requestId: request.requestId,
      });
    }
    const now = this.health.now();
    const result = await runWithFailover({
      regions,
      health: this.health,
      attemptTimeoutMs: config.attemptTimeoutMs,
      deadline: now + config.requestTimeoutMs,
      maxThrottleWaitMs: config.maxThrottleWaitMs,
      requestId: request.requestId,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(this.#options.sleep ? { sleep: this.#options.sleep } : {}),
      observer: {
        onAttempt: (attempt) => {
          logger.info(`Attempt ${attempt.attemptNumber} on ${attempt.region}: ${attempt.status}`, {
            region: attempt.region,
            status: attempt.status,
            durationMs: attempt.durationMs,
            ...(attempt.code ? { code: attempt.code } : {}),
          });
          const upstream = this.#upstream(attempt.region);
          const id = upstreamRequestId ?? apimRequestId(attempt.error?.cause);
          this.#notify(logger, (o) =>
            o.onAttempt?.({
              ...attempt,
              ...traced,
              requestId: request.requestId,
              model,
              deployment: upstream.region.deployments[model] ?? model,
              endpoint: upstream.region.endpoint,
              ...(id === undefined ? {} : { upstreamRequestId: id }),
              endedAt: Date.now(),
              ...(attempt.status === 200 ? { firstTokenMs: performance.now() - startedAt } : {}),
            }),
          );
        },
      },
      attempt: async (regionName, signal) => {
        upstreamRequestId = undefined;
        const onResponse = (response: Response) => {
          upstreamRequestId = response.headers.get('apim-request-id') ?? undefined;
        };
        const upstream = this.#upstream(regionName);
        const deployment = upstream.region.deployments[model] ?? model;
        const headers = async () => ({
          ...(await upstream.auth.headers()),
          'x-ms-client-request-id': request.requestId,
        });
        try {
          return await call(upstream, deployment, signal, await headers(), onResponse);
        } catch (error) {
          // A key rotated in Key Vault: re-read it once and retry this region once.
          if (error instanceof APIError && error.status === 401 && (await upstream.auth.refreshAfterUnauthorized())) {
            logger.info(`Key for ${regionName} was rotated; retrying with the new key`);
            return await call(upstream, deployment, signal, await headers(), onResponse);
          }
          throw error;
        }
      },
      toError: (error, regionName) => {
        const upstream = this.#upstream(regionName);
        return fromUpstream(
          error,
          {
            region: regionName,
            endpoint: upstream.region.endpoint,
            model,
            deployment: upstream.region.deployments[model] ?? model,
            deployments: upstream.region.deployments,
            auth: config.auth.mode,
            ...upstream.auth.describe(),
          },
          Date.now(),
        );
      },
    }).catch((error: unknown) => {
      if (error instanceof ChatError) {
        this.#notify(logger, (o) => o.onFailed?.({ requestId: request.requestId, ...traced, model, regions, error }));
      }
      throw error;
    });
    const meta: Served = { model, region: result.region, attempts: result.attempts, requestId: request.requestId };
    const firstTokenMs = performance.now() - startedAt;
    const servedBy = this.#upstream(result.region);
    const observer = this.#options.observer;
    let reported = false;
    /** Tells the observer how the answer ended; once. */
    const report = (end: {
      streamed: boolean;
      outcome: CompletionReport['outcome'];
      usage: CompletionUsage | undefined;
      finishReason: string | undefined;
      answer: () => string;
    }) => {
      if (reported || observer?.onCompleted === undefined) return;
      reported = true;
      this.#notify(logger, (o) =>
        o.onCompleted?.({
          requestId: request.requestId,
          ...traced,
          model,
          region: result.region,
          deployment: servedBy.region.deployments[model] ?? model,
          streamed: end.streamed,
          ...(end.usage ? { usage: end.usage } : {}),
          firstTokenMs,
          durationMs: performance.now() - startedAt,
          ...(end.finishReason ? { finishReason: end.finishReason } : {}),
          outcome: end.outcome,
          ...(observer.captureContent === true
            ? { content: { messages: request.messages, answer: end.answer() } }
            : {}),
        }),
      );
    };
    return { meta, value: result.value, signal: result.signal, done: result.done, report };
  }

  /** Calls the observer; telemetry must never fail a chat. */
  #notify(logger: Logger | undefined, call: (observer: ChatObserver) => void): void {
    const observer = this.#options.observer;
    if (observer === undefined) return;
    try {
      call(observer);
    } catch (error) {
      (logger ?? silentLogger).warn('Telemetry observer failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #upstream(name: string): Upstream {
    const upstream = this.#upstreams.get(name);
    if (!upstream) throw new Error(`No upstream for region ${name}`);
    return upstream;
  }
}

/**
 * Azure opens a stream with a chunk that has no choices and only prompt filter results: not worth
 * forwarding. Its asynchronous filter verdict chunk has a choice without `delta`
 * (aoai_stream_sse_async_filter_content_filter_finish.json); give it an empty one so consumers can
 * rely on the SDK's type.
 */
function isForwardable(chunk: ChatCompletionChunk): boolean {
  for (const choice of chunk.choices) (choice as { delta?: object }).delta ??= {};
  return chunk.choices.length > 0 || chunk.usage != null;
}

/** Azure's `apim-request-id` from an upstream error's response headers, when the error carries them. */
function apimRequestId(error: unknown): string | undefined {
  if (!(error instanceof APIError)) return undefined;
  const headers = (error as APIError<number | undefined, Headers | undefined>).headers;
  return headers?.get('apim-request-id') ?? undefined;
}
