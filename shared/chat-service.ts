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
import { configuredModels, type AppConfig, type RegionConfig } from './config';
import type { CredentialSet, RegionAuth } from './credentials';
import { ChatError, fromUpstream, type Attempt } from './errors';
import { runWithFailover, type FailoverObserver } from './failover';
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

export interface ChatServiceOptions {
  readonly config: AppConfig;
  readonly credentials: CredentialSet;
  readonly logger?: Logger;
  readonly observer?: FailoverObserver & { onBreakerChange?(change: BreakerChange): void };
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
        options.observer?.onBreakerChange?.(change);
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
    const served = await this.#serve(request, async (upstream, deployment, signal, headers) => {
      const completion = await upstream.client.chat.completions.create(
        { ...request.params, model: deployment, messages: [...request.messages], stream: false },
        { signal, headers },
      );
      return completion;
    });
    served.done();
    return { ...served.meta, completion: served.value };
  }

  async stream(request: ChatRequest): Promise<StreamResult> {
    const served = await this.#serve(request, async (upstream, deployment, signal, headers) => {
      const stream = await upstream.client.chat.completions.create(
        {
          ...request.params,
          model: deployment,
          messages: [...request.messages],
          stream: true,
          // Always ask for usage: token counts for telemetry; handlers drop it if the client did not ask.
          stream_options: { include_usage: true },
        },
        { signal, headers },
      );
      const iterator = stream[Symbol.asyncIterator]();
      // The first byte that counts is the first chunk worth forwarding; Azure's opening chunk
      // (choices: [], prompt_filter_results only) is not, so failover stays possible until then.
      for (;;) {
        const next = await iterator.next();
        if (next.done) return { first: undefined, iterator };
        if (isForwardable(next.value)) return { first: next.value, iterator };
      }
    });
    const { meta, value, signal, done } = served;
    const health = this.health;
    const logger = request.logger ?? this.#options.logger ?? silentLogger;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      try {
        if (value.first === undefined) return;
        yield value.first;
        for (;;) {
          const next = await value.iterator.next();
          if (next.done) return;
          if (isForwardable(next.value)) yield next.value;
        }
      } catch (error) {
        if (request.signal?.aborted) return; // the client left; nothing to tell it
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
    ) => Promise<T>,
  ) {
    const { config } = this.#options;
    const logger = request.logger ?? this.#options.logger ?? silentLogger;
    const model = request.model ?? config.defaultModel;
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
          this.#options.observer?.onAttempt?.(attempt);
        },
      },
      attempt: async (regionName, signal) => {
        const upstream = this.#upstream(regionName);
        const deployment = upstream.region.deployments[model] ?? model;
        const headers = { ...(await upstream.auth.headers()), 'x-ms-client-request-id': request.requestId };
        try {
          return await call(upstream, deployment, signal, headers);
        } catch (error) {
          // A key rotated in Key Vault: re-read it once and retry this region once.
          if (error instanceof APIError && error.status === 401 && (await upstream.auth.refreshAfterUnauthorized())) {
            logger.info(`Key for ${regionName} was rotated; retrying with the new key`);
            return await call(upstream, deployment, signal, {
              ...(await upstream.auth.headers()),
              'x-ms-client-request-id': request.requestId,
            });
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
    });
    const meta: Served = { model, region: result.region, attempts: result.attempts, requestId: request.requestId };
    return { meta, value: result.value, signal: result.signal, done: result.done };
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
