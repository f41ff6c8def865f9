/**
 * One region's model call: the `openai` client for the region, the credential headers, one retry
 * after a 401 when the key was rotated, and whatever went wrong classified into a ChatError (the
 * one factory: {@link fromUpstream}). The chat service (through the failover loop) and the doctor
 * call regions through this and nothing else.
 */
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import type { Response as ModelResponse } from 'openai/resources/responses/responses';
import { nextForwardable } from './chunks';
import { deploymentOf, type AuthMode, type RegionConfig } from './config';
import type { RegionAuth } from './credentials';
import type { ChatError } from './errors';
import { fromUpstream } from './errors';
import { silentLogger, type Logger } from './logger';
import { retryAfterKeyRotation } from './resilience/key-rotation';
import type { ResponseParams } from './responses/request';
import { openResponseStream, type OpenedResponseStream } from './responses/stream';

export interface UpstreamOptions {
  readonly region: RegionConfig;
  readonly auth: RegionAuth;
  /** Named in diagnoses (which credential was rejected). */
  readonly authMode: AuthMode;
  /** Time limit of one HTTP call, ms (the SDK's own timeout). */
  readonly timeoutMs: number;
  /** fetch for the client (tests may wrap it). */
  readonly fetch?: typeof fetch;
}

/** One call's request-scoped options. */
export interface CallOptions {
  /** Logical model name: the region's deployment of it is called. */
  readonly model: string;
  /** Sent as `x-ms-client-request-id`, so Azure's logs can find the call. */
  readonly requestId: string;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

/** What a region answered, with Azure's id for the answer. */
export interface Answer<T> {
  readonly value: T;
  /** Azure's `apim-request-id`, when the answer carried one: what Azure support asks for. */
  readonly upstreamRequestId?: string;
}

/** A stream whose first chunk worth forwarding is in hand. */
export interface OpenedStream {
  /** The first chunk worth forwarding; undefined when the stream ended without one. */
  readonly first: ChatCompletionChunk | undefined;
  /** The rest, as Azure sends it (see chunks.ts for what to forward). */
  readonly rest: AsyncIterator<ChatCompletionChunk>;
}

export type CompletionParams = Omit<ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>;
export type StreamParams = Omit<ChatCompletionCreateParamsStreaming, 'model' | 'stream'>;

type Sent<T> = Promise<{ data: T; response: Response }>;

export class Upstream {
  readonly region: RegionConfig;
  readonly #client: OpenAI;
  readonly #auth: RegionAuth;
  readonly #authMode: AuthMode;

  constructor(options: UpstreamOptions) {
    this.region = options.region;
    this.#auth = options.auth;
    this.#authMode = options.authMode;
    this.#client = new OpenAI({
      baseURL: new URL('openai/v1/', options.region.endpoint).toString(),
      apiKey: options.auth.apiKey,
      // One layer retries: the failover loop. The SDK would retry 429/5xx against the same region.
      maxRetries: 0,
      timeout: options.timeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  get name(): string {
    return this.region.name;
  }

  /** This region's deployment of `model`, or undefined when it does not deploy it. */
  deployment(model: string): string | undefined {
    return deploymentOf(this.region, model);
  }

  /** A whole completion. Rejects with a ChatError. */
  complete(params: CompletionParams, options: CallOptions): Promise<Answer<ChatCompletion>> {
    return this.#call(options, (deployment, http) =>
      this.#client.chat.completions.create({ ...params, model: deployment, stream: false }, http).withResponse(),
    );
  }

  /**
   * A stream, resolved once its first chunk worth forwarding is in hand: until then a failure is
   * still an attempt that failed (and another region may serve). Rejects with a ChatError.
   */
  stream(params: StreamParams, options: CallOptions): Promise<Answer<OpenedStream>> {
    return this.#call(options, async (deployment, http) => {
      const { data, response } = await this.#client.chat.completions
        .create({ ...params, model: deployment, stream: true }, http)
        .withResponse();
      const rest = data[Symbol.asyncIterator]();
      return { data: { first: await nextForwardable(rest), rest }, response };
    });
  }

  /** A whole response of the Responses API (`POST /openai/v1/responses`). Rejects with a ChatError. */
  respond(params: ResponseParams, options: CallOptions): Promise<Answer<ModelResponse>> {
    return this.#call(options, (deployment, http) =>
      this.#client.responses.create({ ...params, model: deployment, stream: false }, http).withResponse(),
    );
  }

  /**
   * A Responses API stream, resolved once its first event with output is in hand (see
   * {@link openResponseStream}): until then a failure is an attempt that failed. Rejects with a ChatError.
   */
  respondStream(params: ResponseParams, options: CallOptions): Promise<Answer<OpenedResponseStream>> {
    return this.#call(options, async (deployment, http) => {
      const { data, response } = await this.#client.responses
        .create({ ...params, model: deployment, stream: true }, http)
        .withResponse();
      return { data: await openResponseStream(data[Symbol.asyncIterator]()), response };
    });
  }

  /** What anything a call to this region threw means, with the operator's diagnosis. */
  classify(error: unknown, model: string): ChatError {
    return fromUpstream(error, {
      region: this.region.name,
      endpoint: this.region.endpoint,
      model,
      deployment: this.deployment(model) ?? model,
      deployments: this.region.deployments,
      auth: this.#authMode,
      ...this.#auth.describe(),
    });
  }

  async #call<T>(
    options: CallOptions,
    send: (deployment: string, http: { signal?: AbortSignal; headers: Record<string, string | null> }) => Sent<T>,
  ): Promise<Answer<T>> {
    const deployment = this.deployment(options.model);
    // Callers route by deployment first; a call without a model would only earn a confusing 400.
    if (deployment === undefined) throw new Error(`Region ${this.name} does not deploy ${options.model}`);
    const signal = options.signal ? { signal: options.signal } : {};
    try {
      const { data, response } = await retryAfterKeyRotation(
        async () => send(deployment, { ...signal, headers: await this.#headers(options.requestId) }),
        {
          auth: this.#auth,
          onRetry: () =>
            (options.logger ?? silentLogger).info(`Key for ${this.name} was rotated; retrying with the new key`),
        },
      );
      const upstreamRequestId = response.headers.get('apim-request-id');
      return { value: data, ...(upstreamRequestId ? { upstreamRequestId } : {}) };
    } catch (error) {
      throw this.classify(error, options.model);
    }
  }

  async #headers(requestId: string): Promise<Record<string, string | null>> {
    return { ...(await this.#auth.headers()), 'x-ms-client-request-id': requestId };
  }
}
