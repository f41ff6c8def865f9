import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthConfig, Operation } from './auth';
import { authenticate } from './auth';
import type { CompletionMeta, FinishReason, Usage } from './chat';
import { completionBody, completionId, toolCallsBody } from './chat';
import { DEFAULT_FAULT_LATENCY_MS, DEFAULT_THROTTLE_RETRY_AFTER_MS, interruptionOf, parseFault } from './faults';
import { answerTo, continuationOf, cutAnswer, tokenized } from './generate';
import { abortableSleep, parseJson, readBody, sendJson, writeFlushed } from './http';
import { RateLimiter } from './rate-limit';
import { regionDisplayName } from './regions';
import type { ChatRequest } from './request';
import { isErrorAnswer, parseChatRequest } from './request';
import {
  parseResponsesRequest,
  responseBody,
  responseId,
  responseStatus,
  ResponseStore,
  type ResponseCall,
  type ResponsesCall,
} from './responses-api';
import { writeFunctionCallStream, writeResponseStream } from './responses-stream';
import type { ErrorAnswer } from './responses';
import {
  contentFilterPrompt,
  contextLengthExceeded,
  deploymentNotFound,
  invalidJson,
  invalidRequest,
  rateLimited,
  resourceNotFound,
  serverError,
  serviceUnavailable,
} from './responses';
import { StatsRecorder } from './stats';
import { interrupt, writeStream, writeToolCallStream, type Interruption } from './stream';
import { planToolCalls, type PlannedCall } from './tools';
import { contentText, countPromptTokens, tokenizer } from './tokens';
import type { Fault, LatencyModel, RunningSimulator, SimulatorOptions } from './types';
import { LATENCY_PRESETS } from './types';

/** Deployments served when none are configured: deployment name -> model name. */
export const DEFAULT_DEPLOYMENTS: Readonly<Record<string, string>> = Object.freeze({
  'gpt-4o': 'gpt-4o-2024-11-20',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
});

/** API key accepted when none is configured. */
export const DEFAULT_API_KEY = 'simulator-key';

const CHAT_DATA_ACTION = 'Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action';
/** The Responses API's data action (not captured: named like the documented `responses/*` actions). */
const RESPONSES_DATA_ACTION = 'Microsoft.CognitiveServices/accounts/OpenAI/responses/write';
const LEGACY_CHAT = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;

interface Config {
  readonly region: string;
  readonly deployments: Readonly<Record<string, string>>;
  readonly auth: AuthConfig;
  readonly contextWindow: number;
  readonly answerTokens: number;
  readonly latency: LatencyModel;
  readonly filterPromptTrigger: string;
  readonly filterOutputTrigger: string;
  readonly continuationRepeatWords: number;
  readonly now: () => number;
}

/** Per-request state used to build headers and the stats entry. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly xRequestId: string;
  readonly clientRequestId: string | null;
  readonly v1: boolean;
  deployment: string | null;
  streamed: boolean;
  rateHeaders: Record<string, string>;
}

/**
 * Which chat route was called: v1 (deployment in the body; chat completions, or the Responses API) or
 * classic (deployment in the path).
 */
type ChatRoute =
  | { readonly v1: true; readonly responses?: boolean }
  | { readonly v1: false; readonly deployment: string; readonly apiVersion: string };

/** How one answer is cut and timed, for the route that writes it. */
interface AnswerPlan {
  readonly meta: CompletionMeta;
  readonly tokens: readonly string[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly interruption: Interruption | undefined;
}

/** Tool calls an answer makes, with their arguments split into the fragments a stream sends. */
interface ToolCallPlan {
  readonly meta: CompletionMeta;
  readonly calls: readonly { readonly call: PlannedCall; readonly fragments: readonly string[] }[];
  readonly usage: Usage;
  readonly interruption: Interruption | undefined;
}

class Simulator {
  readonly #config: Config;
  readonly #limiter: RateLimiter;
  readonly #stats = new StatsRecorder();
  /** Responses kept for `previous_response_id` and `item_reference`: this region's only. */
  readonly #stored = new ResponseStore();
  readonly #closing = new AbortController();
  readonly #sleep: (ms: number) => Promise<void>;
  #fault: Fault;

  constructor(options: SimulatorOptions) {
    const latency = options.latency ?? 'none';
    const now = options.now ?? Date.now;
    this.#config = {
      region: options.region ?? 'eastus2',
      deployments: options.deployments ?? DEFAULT_DEPLOYMENTS,
      auth: {
        apiKey: options.apiKey ?? DEFAULT_API_KEY,
        bearer: options.bearer ?? 'accept',
        acceptedBearerTokens: options.acceptedBearerTokens,
        localAuthDisabled: options.localAuthDisabled ?? false,
      },
      contextWindow: options.contextWindow ?? 128_000,
      answerTokens: options.answerTokens ?? 40,
      latency: typeof latency === 'string' ? LATENCY_PRESETS[latency] : latency,
      filterPromptTrigger: options.filterPromptTrigger ?? '[[filter-prompt]]',
      filterOutputTrigger: options.filterOutputTrigger ?? '[[filter-output]]',
      continuationRepeatWords: options.continuationRepeatWords ?? 0,
      now,
    };
    this.#limiter = new RateLimiter({ rpm: options.rpm ?? 6000, tpm: options.tpm ?? 1_000_000, now });
    this.#sleep = options.sleep ?? ((ms) => abortableSleep(ms, this.#closing.signal));
    this.#fault = options.fault ?? { kind: 'none' };
  }

  get region(): string {
    return this.#config.region;
  }

  get fault(): Fault {
    return this.#fault;
  }

  set fault(fault: Fault) {
    this.#fault = fault;
  }

  stats() {
    return this.#stats.snapshot(this.#config.region);
  }

  reset(): void {
    this.#stats.reset();
    this.#limiter.reset();
  }

  /** Ends pending simulated delays so streaming handlers notice their sockets are gone. */
  abortPending(): void {
    this.#closing.abort();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname.startsWith('/_sim/')) {
      await this.#handleControl(req, res, url.pathname);
      return;
    }
    const clientRequestId = req.headers['x-ms-client-request-id'];
    const exchange: Exchange = {
      req,
      res,
      requestId: randomUUID(),
      xRequestId: randomUUID(),
      clientRequestId: typeof clientRequestId === 'string' ? clientRequestId : null,
      v1: url.pathname.startsWith('/openai/v1/'),
      deployment: null,
      streamed: false,
      rateHeaders: {},
    };
    const time = new Date(this.#config.now()).toISOString();
    try {
      await this.#route(exchange, url);
    } catch {
      if (!res.headersSent) this.#send(exchange, serverError(exchange.requestId));
      else res.destroy();
    }
    this.#stats.record({
      time,
      method: req.method ?? 'GET',
      path: url.pathname,
      deployment: exchange.deployment,
      status: res.headersSent ? res.statusCode : 0,
      streamed: exchange.streamed,
      clientRequestId: exchange.clientRequestId,
      requestId: exchange.requestId,
    });
  }

  async #route(exchange: Exchange, url: URL): Promise<void> {
    const { req, res } = exchange;
    const body = await readBody(req);
    const fault = this.#fault;
    if (url.pathname.startsWith('/openai/') && fault.kind === 'outage') {
      // A regional outage: either a 503 from the front door, or nothing at all (connection dropped).
      if (fault.mode === 'refuse') res.socket?.destroy();
      else this.#send(exchange, serviceUnavailable(fault.retryAfterMs));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/openai/v1/models') {
      this.#listModels(exchange);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/openai/v1/chat/completions') {
      await this.#chat(exchange, body, { v1: true });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/openai/v1/responses') {
      await this.#chat(exchange, body, { v1: true, responses: true });
      return;
    }
    const legacy = req.method === 'POST' ? LEGACY_CHAT.exec(url.pathname) : null;
    const apiVersion = url.searchParams.get('api-version');
    if (legacy?.[1] !== undefined && apiVersion !== null && apiVersion !== '') {
      await this.#chat(exchange, body, { v1: false, deployment: decodeURIComponent(legacy[1]), apiVersion });
      return;
    }
    // Unknown paths and the classic route without api-version both get Azure's "Resource not found".
    this.#send(exchange, resourceNotFound());
  }

  #listModels(exchange: Exchange): void {
    const denied = authenticate(exchange.req.headers, this.#config.auth, {
      dataAction: 'Microsoft.CognitiveServices/accounts/OpenAI/models/read',
      operation: 'GET /openai/v1/models',
      keyAsBearer: true,
    });
    if (denied) {
      this.#send(exchange, denied);
      return;
    }
    const created = Math.floor(this.#config.now() / 1000);
    const data = Object.keys(this.#config.deployments).map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'system',
    }));
    this.#send(exchange, { status: 200, body: { object: 'list', data } });
  }

  async #chat(exchange: Exchange, rawBody: string, route: ChatRoute): Promise<void> {
    const fault = this.#fault;
    if (fault.kind === 'latency') await this.#delay(fault.latencyMs ?? DEFAULT_FAULT_LATENCY_MS);
    const operation: Operation = route.v1
      ? route.responses === true
        ? { dataAction: RESPONSES_DATA_ACTION, operation: 'POST /openai/v1/responses', keyAsBearer: true }
        : { dataAction: CHAT_DATA_ACTION, operation: 'POST /openai/v1/chat/completions', keyAsBearer: true }
      : {
          dataAction: CHAT_DATA_ACTION,
          operation: 'POST /openai/deployments/{deployment-id}/chat/completions',
          keyAsBearer: false,
        };
    const denied = authenticate(exchange.req.headers, this.#config.auth, operation);
    if (denied) return this.#send(exchange, denied);
    if (!route.v1 && !this.#hasDeployment(route.deployment)) return this.#send(exchange, deploymentNotFound());

    const parsed = parseJson(rawBody);
    if (!parsed) return this.#send(exchange, invalidJson());
    const request =
      route.v1 && route.responses === true
        ? parseResponsesRequest(parsed.value, this.#stored)
        : parseChatRequest(parsed.value);
    if (isErrorAnswer(request)) return this.#send(exchange, request);
    const deployment = route.v1 ? request.model : route.deployment;
    if (deployment === undefined)
      return this.#send(exchange, invalidRequest('you must provide a model parameter', null, null));
    if (!this.#hasDeployment(deployment)) return this.#send(exchange, deploymentNotFound());
    exchange.deployment = deployment;
    exchange.streamed = request.stream;

    const apiVersion = route.v1 ? 'v1' : route.apiVersion;
    if (fault.kind === 'throttle') {
      exchange.rateHeaders = this.#rateHeaders(0, 0);
      return this.#send(
        exchange,
        rateLimited('tokens', apiVersion, fault.retryAfterMs ?? DEFAULT_THROTTLE_RETRY_AFTER_MS),
      );
    }
    if (fault.kind === 'error500') return this.#send(exchange, serverError(exchange.requestId));

    const promptTokens = countPromptTokens(request.messages);
    const window = this.#config.contextWindow;
    if (promptTokens > window) return this.#send(exchange, contextLengthExceeded(window, promptTokens));
    if (request.maxTokens !== undefined && promptTokens + request.maxTokens > window) {
      return this.#send(exchange, contextLengthExceeded(window, promptTokens, request.maxTokens));
    }
    // Azure charges quota for the prompt plus the largest answer the request allows.
    const admission = this.#limiter.admit(deployment, promptTokens + (request.maxTokens ?? this.#config.answerTokens));
    exchange.rateHeaders = this.#rateHeaders(admission.remainingRequests, admission.remainingTokens);
    if (!admission.ok) return this.#send(exchange, rateLimited(admission.limit, apiVersion, admission.retryAfterMs));

    const prompt = request.messages.map((message) => contentText(message['content'])).join('\n');
    if (prompt.includes(this.#config.filterPromptTrigger)) return this.#send(exchange, contentFilterPrompt());
    await this.#answer(exchange, request, deployment, promptTokens, prompt.includes(this.#config.filterOutputTrigger));
  }

  async #answer(
    exchange: Exchange,
    request: ChatRequest,
    deployment: string,
    promptTokens: number,
    filterOutput: boolean,
  ): Promise<void> {
    const interruption = interruptionOf(this.#fault);
    const meta: CompletionMeta = {
      id: completionId(),
      created: Math.floor(this.#config.now() / 1000),
      model: this.#config.deployments[deployment] ?? deployment,
    };
    const planned = planToolCalls(request.tools, request.messages);
    if (planned.length > 0) {
      const calls = planned.map((call) => ({ call, fragments: tokenized(call.arguments).tokens }));
      // What the model writes: each call's name and its arguments.
      const written = calls.reduce((n, c) => n + c.fragments.length + tokenized(c.call.name).tokens.length, 0);
      const usage = { promptTokens, completionTokens: written };
      return this.#callTools(exchange, request, { meta, calls, usage, interruption });
    }
    const full =
      continuationOf({
        deployment,
        messages: request.messages,
        answerTokens: this.#config.answerTokens,
        repeatWords: this.#config.continuationRepeatWords,
      }) ?? answerTo(deployment, request.messages, this.#config.answerTokens);
    const { tokens, finishReason } = cutAnswer(full, request.maxTokens, filterOutput);
    const usage = { promptTokens, completionTokens: tokens.length };
    if (request.responses) return this.#respond(exchange, request, { meta, tokens, finishReason, usage, interruption });
    const { firstTokenMs, perTokenMs } = this.#config.latency;
    if (!request.stream) {
      await this.#delay(firstTokenMs + perTokenMs * tokens.length);
      const answer = { status: 200, body: completionBody(meta, tokens.join(''), finishReason, usage) };
      if (interruption) return this.#sendPart(exchange, answer, interruption);
      this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
      this.#send(exchange, answer);
      return;
    }

    await this.#delay(firstTokenMs);
    if (exchange.res.destroyed) return;
    const outcome = await writeStream(exchange.res, this.#headers(exchange), {
      meta,
      tokens,
      finishReason,
      fullTextLength: full.text.length,
      usage,
      includeUsage: request.includeUsage,
      interruption,
      perTokenMs,
      delay: (ms) => this.#delay(ms),
    });
    if (outcome === 'complete') this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
  }

  /** An answer that calls tools, on either API, whole or streamed. */
  async #callTools(exchange: Exchange, request: ChatRequest, plan: ToolCallPlan): Promise<void> {
    const { meta, calls, usage, interruption } = plan;
    const { firstTokenMs, perTokenMs } = this.#config.latency;
    const fragments = calls.reduce((n, c) => n + c.fragments.length, 0);
    const delay = (ms: number) => this.#delay(ms);
    const call = request.responses;
    const made: ResponseCall[] = calls.map((c) => ({ ...c.call, itemId: responseId('fc') }));
    if (!request.stream) {
      await this.#delay(firstTokenMs + perTokenMs * fragments);
      const responseMeta = { created: meta.created, model: meta.model };
      const body = call
        ? responseBody(call, responseMeta, { status: 'completed', calls: made, usage })
        : toolCallsBody(meta, planned(calls), usage);
      const answer = { status: 200, body };
      if (interruption) return this.#sendPart(exchange, answer, interruption);
      this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
      if (call) this.#stored.save(call, made);
      return this.#send(exchange, answer);
    }
    await this.#delay(firstTokenMs);
    if (exchange.res.destroyed) return;
    const headers = this.#headers(exchange);
    const outcome = call
      ? await writeFunctionCallStream(exchange.res, headers, {
          call,
          meta: { created: meta.created, model: meta.model },
          calls: made.map((m, index) => ({ made: m, fragments: calls[index]?.fragments ?? [] })),
          usage,
          interruption,
          perTokenMs,
          delay,
        })
      : await writeToolCallStream(exchange.res, headers, {
          meta,
          calls,
          usage,
          includeUsage: request.includeUsage,
          interruption,
          perTokenMs,
          delay,
        });
    if (outcome !== 'complete') return;
    this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
    if (call) this.#stored.save(call, made);
  }

  /** A Responses API answer, whole or streamed; stored (unless `store: false`) once it was sent whole. */
  async #respond(exchange: Exchange, request: ChatRequest, plan: AnswerPlan): Promise<void> {
    const call = request.responses as ResponsesCall;
    const { meta, tokens, usage, interruption } = plan;
    const { firstTokenMs, perTokenMs } = this.#config.latency;
    const text = tokens.join('');
    const responseMeta = { created: meta.created, model: meta.model };
    if (!request.stream) {
      await this.#delay(firstTokenMs + perTokenMs * tokens.length);
      const state = { ...responseStatus(plan.finishReason), text, usage };
      const answer = { status: 200, body: responseBody(call, responseMeta, state) };
      if (interruption) return this.#sendPart(exchange, answer, interruption);
      this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
      this.#stored.save(call, text);
      return this.#send(exchange, answer);
    }
    await this.#delay(firstTokenMs);
    if (exchange.res.destroyed) return;
    const outcome = await writeResponseStream(exchange.res, this.#headers(exchange), {
      ...plan,
      call,
      meta: responseMeta,
      perTokenMs,
      delay: (ms) => this.#delay(ms),
    });
    if (outcome !== 'complete') return;
    this.#stats.addTokens(usage.promptTokens, usage.completionTokens);
    this.#stored.save(call, text);
  }

  #hasDeployment(name: string): boolean {
    return Object.hasOwn(this.#config.deployments, name);
  }

  async #delay(ms: number): Promise<void> {
    if (ms > 0) await this.#sleep(ms);
  }

  #rateHeaders(remainingRequests: number, remainingTokens: number): Record<string, string> {
    return {
      'x-ratelimit-limit-requests': String(this.#limiter.rpm),
      'x-ratelimit-limit-tokens': String(this.#limiter.tpm),
      'x-ratelimit-remaining-requests': String(remainingRequests),
      'x-ratelimit-remaining-tokens': String(remainingTokens),
    };
  }

  /** Headers Azure puts on every answer (aoai_200_success_response_headers.json, aoai_400_content_filter_prompt_with_headers.json). */
  #headers(exchange: Exchange): Record<string, string> {
    return {
      'apim-request-id': exchange.requestId,
      'request-id': exchange.requestId,
      'x-request-id': exchange.xRequestId,
      // Azure echoes the caller's id, or its own apim-request-id when none was sent.
      'x-ms-client-request-id': exchange.clientRequestId ?? exchange.requestId,
      'x-ms-region': regionDisplayName(this.#config.region),
      ...(exchange.deployment === null ? {} : { 'x-ms-deployment-name': exchange.deployment }),
      ...(exchange.v1 ? { 'api-supported-versions': '1' } : {}),
      'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
      'x-content-type-options': 'nosniff',
      ...exchange.rateHeaders,
    };
  }

  /** Sends the status line, the headers and half the body of `answer`, then breaks the connection. */
  async #sendPart(exchange: Exchange, answer: ErrorAnswer, how: Interruption): Promise<void> {
    const { res } = exchange;
    if (res.destroyed) return;
    const body = Buffer.from(JSON.stringify(answer.body));
    res.writeHead(answer.status, {
      ...this.#headers(exchange),
      'content-type': 'application/json',
      'content-length': String(body.length),
    });
    await writeFlushed(res, body.subarray(0, Math.floor(body.length / 2)));
    await interrupt(res, how);
  }

  #send(exchange: Exchange, answer: ErrorAnswer): void {
    if (exchange.res.destroyed) return;
    sendJson(exchange.res, answer.status, answer.body, { ...this.#headers(exchange), ...answer.headers });
  }

  async #handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req);
    const route = `${req.method ?? 'GET'} ${path}`;
    if (route === 'GET /_sim/fault') return sendJson(res, 200, this.#fault, {});
    if (route === 'GET /_sim/stats') return sendJson(res, 200, this.stats(), {});
    if (route === 'POST /_sim/reset') {
      this.reset();
      res.writeHead(204).end();
      return;
    }
    if (route === 'POST /_sim/fault') {
      const parsed = parseFault(parseJson(body)?.value);
      if (!parsed.ok) return sendJson(res, 400, { error: { code: 'InvalidFault', message: parsed.message } }, {});
      this.#fault = parsed.fault;
      return sendJson(res, 200, this.#fault, {});
    }
    sendJson(res, 404, { error: { code: 'NotFound', message: `No simulator control endpoint ${route}.` } }, {});
  }
}

function planned(calls: ToolCallPlan['calls']): PlannedCall[] {
  return calls.map((c) => c.call);
}

/**
 * Starts an Azure OpenAI simulator on loopback and resolves once it listens.
 * Routes: `POST /openai/v1/chat/completions`, `POST /openai/v1/responses`, `POST /openai/deployments/{d}/chat/completions?api-version=...`,
 * `GET /openai/v1/models`, and the unauthenticated controls `GET|POST /_sim/fault`, `GET /_sim/stats`,
 * `POST /_sim/reset`.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  // Build the tokenizer before the first request (once per process): built lazily, it made the region's
  // first answer about 0.9 s slower than every later one, which no real region does, and a first-byte
  // limit in a test or a benchmark then depended on what ran before it.
  tokenizer();
  const simulator = new Simulator(options);
  const server = createServer((req, res) => {
    void simulator.handle(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    region: simulator.region,
    setFault: (fault) => {
      simulator.fault = fault;
    },
    fault: () => simulator.fault,
    stats: () => simulator.stats(),
    reset: () => simulator.reset(),
    // Closing twice (a test that stops a region mid-test, then its clean-up) is one close.
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        simulator.abortPending();
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive and streaming sockets would otherwise hold close() open.
        server.closeAllConnections();
      })),
  };
}
