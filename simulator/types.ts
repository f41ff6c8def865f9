/** Delays of the simulated model, in milliseconds. */
export interface LatencyModel {
  /** Time before the first token (and, non-streamed, before the response head). */
  readonly firstTokenMs: number;
  /** Time between two tokens of the answer. */
  readonly perTokenMs: number;
}

/** Named latency presets: `none` for tests, `realistic` roughly like a gpt-4o deployment under light load. */
export const LATENCY_PRESETS = {
  none: { firstTokenMs: 0, perTokenMs: 0 },
  realistic: { firstTokenMs: 300, perTokenMs: 15 },
} as const satisfies Record<string, LatencyModel>;

export type LatencyPreset = keyof typeof LATENCY_PRESETS;

/**
 * A fault injected at runtime (`POST /_sim/fault`, or `RunningSimulator.setFault`).
 * - `none`: normal service.
 * - `outage`: every `/openai/*` call gets 503; with `mode: 'refuse'` the socket is destroyed without an answer.
 *   `retryAfterMs`, when given, is sent as `retry-after`/`retry-after-ms` on the 503.
 * - `throttle`: every chat call gets 429 with `retry-after(-ms)` = `retryAfterMs` (default 10000).
 * - `latency`: `latencyMs` (default 1000) is added before the first byte of every chat call.
 * - `error500`: every chat call gets 500 server_error.
 * - `reset-midstream`: streamed calls send `afterChunks` content chunks (default 2) then the socket is destroyed;
 *   non-streamed calls send the status line and half the body, then the socket is destroyed.
 * - `stall`: like `reset-midstream`, but the connection stays open and silent instead of closing, until the
 *   client gives up (or the simulator closes).
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'outage'; readonly mode?: 'http' | 'refuse'; readonly retryAfterMs?: number }
  | { readonly kind: 'throttle'; readonly retryAfterMs?: number }
  | { readonly kind: 'latency'; readonly latencyMs?: number }
  | { readonly kind: 'error500' }
  | { readonly kind: 'reset-midstream'; readonly afterChunks?: number }
  | { readonly kind: 'stall'; readonly afterChunks?: number };

export type FaultKind = Fault['kind'];

/** How bearer (Entra ID) tokens are treated. */
export type BearerMode =
  /** Any Entra token is accepted (subject to `acceptedBearerTokens`). */
  | 'accept'
  /** Tokens are valid but the principal has no role: 401 PermissionDenied, as Azure answers a missing role. */
  | 'no-role';

/** Options of {@link startSimulator}. Every field is optional. */
export interface SimulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  readonly host?: string;
  /** Azure region name (e.g. `eastus2`, `swedencentral`); default `eastus2`. Sent as display name in `x-ms-region`. */
  readonly region?: string;
  /** Deployment name -> model name. Default `{ 'gpt-4o': 'gpt-4o-2024-11-20', 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' }`. */
  readonly deployments?: Readonly<Record<string, string>>;
  /** The resource's API key (`api-key` header, or `Authorization: Bearer` on the v1 route). Default `simulator-key`. */
  readonly apiKey?: string;
  /** Treatment of Entra tokens; default `accept`. */
  readonly bearer?: BearerMode;
  /** If set, only these Entra tokens are valid; others get 401 "Access token is missing, invalid, ...". */
  readonly acceptedBearerTokens?: readonly string[];
  /** Like `disableLocalAuth` on the account: API keys get 403 AuthenticationTypeDisabled. Default false. */
  readonly localAuthDisabled?: boolean;
  /** Context window in tokens (prompt + max_tokens); default 128000. */
  readonly contextWindow?: number;
  /** Length of a full answer in tokens (rounded up to a whole sentence); default 40. */
  readonly answerTokens?: number;
  /** Requests per minute per deployment; default 6000. */
  readonly rpm?: number;
  /** Tokens per minute per deployment (prompt + max_tokens, as Azure estimates); default 1,000,000. */
  readonly tpm?: number;
  /** Latency model or preset name; default `none` (no delay). */
  readonly latency?: LatencyModel | LatencyPreset;
  /** Prompt text that triggers a 400 content_filter; default `[[filter-prompt]]`. */
  readonly filterPromptTrigger?: string;
  /** Prompt text that makes the answer end with finish_reason `content_filter`; default `[[filter-output]]`. */
  readonly filterOutputTrigger?: string;
  /** Clock in epoch milliseconds, for rate-limit windows and `created`; default `Date.now`. */
  readonly now?: () => number;
  /** Delay function; default real timers, cut short by `close()`. Tests inject one to observe delays. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Fault active at start; default `{ kind: 'none' }`. */
  readonly fault?: Fault;
  /**
   * Words of the partial answer repeated at the start of a continuation, as real models sometimes do; default 0.
   * See {@link continuationOf} in generate.ts for what counts as a continuation request.
   */
  readonly continuationRepeatWords?: number;
}

/** One served request, as listed in {@link SimulatorStats.recent}. */
export interface RecentRequest {
  /** ISO time from the injected clock. */
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly deployment: string | null;
  /** HTTP status sent; 0 when the socket was destroyed before a status line (refuse, reset of a non-streamed call). */
  readonly status: number;
  readonly streamed: boolean;
  /** The caller's `x-ms-client-request-id`, if it sent one. */
  readonly clientRequestId: string | null;
  /** The simulator's `apim-request-id` for this response. */
  readonly requestId: string;
}

/** What the simulator served since start or the last reset (`/_sim/*` calls are not counted). */
export interface SimulatorStats {
  readonly region: string;
  readonly total: number;
  /** Keyed by status code as a string (`"0"` = socket destroyed without an answer). */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byDeployment: Readonly<Record<string, number>>;
  readonly streamed: number;
  readonly nonStreamed: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The last 200 requests, oldest first. */
  readonly recent: readonly RecentRequest[];
}

/** A simulator listening on loopback. */
export interface RunningSimulator {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:7081`. */
  readonly url: string;
  readonly port: number;
  /** Region name as configured, e.g. `eastus2`. */
  readonly region: string;
  setFault(fault: Fault): void;
  fault(): Fault;
  stats(): SimulatorStats;
  /** Clears stats and rate-limit windows (not the fault). */
  reset(): void;
  /** Stops listening and destroys every open socket, streaming ones included; calling it again is harmless. */
  close(): Promise<void>;
}
