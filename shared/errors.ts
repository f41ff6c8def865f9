/**
 * One error type for everything that can go wrong in a chat, with a stable `code`, the HTTP `status`
 * the client gets, and for the operator a `diagnosis` that says what is wrong and how to fix it.
 * Upstream failures become ChatErrors in one place: {@link fromUpstream}.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { parseRetryAfterMs } from './retry-after';

/** What one upstream attempt came to; `status` is the HTTP status when there was one. */
export interface Attempt {
  readonly region: string;
  readonly status: number | 'timeout' | 'connection-error' | 'skipped-open' | 'skipped-throttled';
  readonly durationMs: number;
  readonly code?: string;
}

/** How many regions were really called (skipped regions do not count). */
export function triedCount(attempts: readonly Attempt[]): number {
  return attempts.filter((a) => a.status !== 'skipped-open' && a.status !== 'skipped-throttled').length;
}

/** Stable codes with the status the client gets and whether another region may do better. */
export const ERROR_CODES = {
  // The request itself.
  invalid_json: { status: 400, failover: false },
  invalid_request: { status: 400, failover: false },
  unknown_model: { status: 400, failover: false },
  unsupported_media_type: { status: 415, failover: false },
  payload_too_large: { status: 413, failover: false },
  // A message to store in a conversation over CHAT_CONVERSATION_MAX_MESSAGE_CHARS: refused, never cut.
  message_too_large: { status: 413, failover: false },
  not_found: { status: 404, failover: false },
  // A known route asked with a method it does not take (the answer's `Allow` lists those it does).
  method_not_allowed: { status: 405, failover: false },
  // A browser's CORS preflight from an origin the API does not allow: the message names the setting.
  origin_not_allowed: { status: 403, failover: false },
  content_filtered: { status: 400, failover: false },
  context_length_exceeded: { status: 400, failover: false },
  // Responses API: the stored response a request continues (previous_response_id) is gone, or not the
  // caller's (answered alike: 404, as a conversation of another caller), or its region is down (409).
  previous_response_not_found: { status: 404, failover: false },
  previous_response_unavailable: { status: 409, failover: false },
  // The caller: no valid sign-in (401), or signed in without the scope or app role the API requires (403).
  unauthorized: { status: 401, failover: false },
  forbidden: { status: 403, failover: false },
  // This backend's configuration: the client can do nothing; the operator can (see diagnosis).
  deployment_not_found: { status: 502, failover: false },
  key_rejected: { status: 502, failover: true },
  token_rejected: { status: 502, failover: true },
  permission_denied: { status: 502, failover: true },
  local_auth_disabled: { status: 502, failover: true },
  endpoint_not_found: { status: 502, failover: true },
  credential_unavailable: { status: 502, failover: false },
  key_vault_access_denied: { status: 502, failover: false },
  key_vault_unreachable: { status: 502, failover: false },
  secret_not_found: { status: 502, failover: false },
  // The sign-in keys (OpenID configuration, JWKS) could not be fetched: the token cannot be checked yet.
  auth_unavailable: { status: 503, failover: false },
  // Availability: another region may do better.
  throttled: { status: 429, failover: true },
  quota_exhausted: { status: 429, failover: true },
  region_unavailable: { status: 503, failover: true },
  upstream_timeout: { status: 504, failover: true },
  upstream_error: { status: 502, failover: true },
  all_regions_failed: { status: 503, failover: false },
  all_regions_throttled: { status: 429, failover: false },
  // This backend's own limits (shared/quota), checked before any model call: no region can help.
  user_quota_exceeded: { status: 429, failover: false },
  global_quota_exceeded: { status: 429, failover: false },
  health_check_failed: { status: 503, failover: false },
  // This instance is turning new requests away (shared/resilience/load-shedder.ts): come back after Retry-After.
  overloaded: { status: 503, failover: false },
  // The caller already has CHAT_CALLER_MAX_IN_FLIGHT requests running on this instance (shared/resilience/caller-limit.ts).
  too_many_in_flight: { status: 429, failover: false },
  // The conversation store is not configured or does not answer: history endpoints cannot serve (chats still do).
  conversations_unavailable: { status: 503, failover: false },
  stream_interrupted: { status: 502, failover: false },
  client_closed: { status: 499, failover: false },
  internal_error: { status: 500, failover: false },
} as const satisfies Record<string, { status: number; failover: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ChatErrorOptions {
  readonly message: string;
  readonly diagnosis?: string;
  readonly requestId?: string;
  readonly retryAfterMs?: number;
  readonly attempts?: readonly Attempt[];
  /** Field-level problems for 4xx validation errors. */
  readonly fields?: readonly { readonly path: string; readonly message: string }[];
  readonly upstreamStatus?: number;
  /** Azure's `apim-request-id` of the failed answer, when one came back: what Azure support asks for. */
  readonly upstreamRequestId?: string;
  readonly cause?: unknown;
}

export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly status: number;
  readonly diagnosis?: string;
  readonly requestId?: string;
  readonly retryAfterMs?: number;
  readonly attempts?: readonly Attempt[];
  readonly fields?: ChatErrorOptions['fields'];
  readonly upstreamStatus?: number;
  readonly upstreamRequestId?: string;

  constructor(
    readonly code: ErrorCode,
    options: ChatErrorOptions,
  ) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = ERROR_CODES[code].status;
    this.diagnosis = options.diagnosis;
    this.requestId = options.requestId;
    this.retryAfterMs = options.retryAfterMs;
    this.attempts = options.attempts;
    this.fields = options.fields;
    this.upstreamStatus = options.upstreamStatus;
    this.upstreamRequestId = options.upstreamRequestId;
  }

  /** Whether trying the next region may succeed where this one failed. */
  get failover(): boolean {
    return ERROR_CODES[this.code].failover;
  }

  with(extra: Partial<ChatErrorOptions>): ChatError {
    return new ChatError(this.code, { ...this.options(), ...extra });
  }

  private options(): ChatErrorOptions {
    return {
      message: this.message,
      diagnosis: this.diagnosis,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      attempts: this.attempts,
      fields: this.fields,
      upstreamStatus: this.upstreamStatus,
      upstreamRequestId: this.upstreamRequestId,
      cause: this.cause,
    };
  }
}

/** What the diagnosis needs to know about the attempt that failed. */
export interface UpstreamContext {
  readonly region: string;
  readonly endpoint: string;
  readonly model: string;
  readonly deployment: string;
  /** The mapping for this region, shown when a deployment is missing. */
  readonly deployments: Readonly<Record<string, string>>;
  readonly auth: 'managed-identity' | 'key-vault' | 'api-key';
  /** Who we are: client id or object id of the managed identity, when known. */
  readonly identity?: string;
  /** Key Vault secret the key came from, in key-vault mode. */
  readonly keySecretName?: string;
}

const PROPAGATION =
  'New role assignments take 5-15 minutes to propagate; if you just assigned the role, wait and retry.';

function upstreamErrorMessage(body: unknown): string | undefined {
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

function upstreamCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { code?: unknown; error?: { code?: unknown } };
  const code = b.error?.code ?? b.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** The error classes @azure/identity throws when no token can be had (matched by name: it is loaded lazily). */
const AZURE_IDENTITY_ERRORS: ReadonlySet<string> = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
]);

/** Whether `error` is one of @azure/identity's "no token" errors. */
export function isAzureIdentityError(error: unknown): boolean {
  return error instanceof Error && AZURE_IDENTITY_ERRORS.has(error.name);
}

/** @azure/identity errors, wherever the openai SDK wrapped them. */
function findCredentialError(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (isAzureIdentityError(current)) return current;
    current = current.cause;
  }
  return undefined;
}

function host(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

/** Whether the endpoint is on this machine: the local simulator, which is only up while `npm start` runs. */
export function isLoopback(endpoint: string): boolean {
  try {
    const hostname = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
    return hostname === 'localhost' || hostname === '::1' || /^127\./.test(hostname);
  } catch {
    return false;
  }
}

/** The base URL every region's endpoint must lead to (Azure OpenAI v1 API). */
export const ENDPOINT_SHAPE = 'https://RESOURCE.openai.azure.com/openai/v1/';

/**
 * The one factory that turns whatever an upstream call threw (openai SDK errors, network errors,
 * aborts) into a ChatError whose diagnosis names the region, resource, deployment and identity.
 */
export function fromUpstream(error: unknown, ctx: UpstreamContext, now: number = Date.now()): ChatError {
  if (error instanceof ChatError) return error;
  const where = `region ${ctx.region} (${host(ctx.endpoint)})`;

  if (error instanceof APIConnectionTimeoutError) {
    return new ChatError('upstream_timeout', {
      message: 'The model did not answer in time.',
      diagnosis: `${where} did not answer in time.`,
      cause: error,
    });
  }
  if (error instanceof APIUserAbortError) {
    return new ChatError('upstream_timeout', {
      message: 'The model call was cancelled.',
      diagnosis: `Call to ${where} was aborted.`,
      cause: error,
    });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    return fromApiError(error as APIError<number, Headers | undefined, object | undefined>, ctx, where, now);
  }
  return fromThrown(error, ctx, where);
}

/** An HTTP error answer, read once, for the classifiers below. */
interface ApiFailure {
  readonly status: number;
  /** Azure's error code (`DeploymentNotFound`, `content_filter`, `404`...), when the body has one. */
  readonly code: string | undefined;
  readonly upstreamMessage: string;
  readonly ctx: UpstreamContext;
  /** `region eastus2 (host)`: where the answer came from, for diagnoses. */
  readonly where: string;
  /** What every ChatError built from this answer carries. */
  readonly base: { readonly upstreamStatus: number; readonly upstreamRequestId?: string; readonly cause: unknown };
}

function fromApiError(
  error: APIError<number, Headers | undefined, object | undefined>,
  ctx: UpstreamContext,
  where: string,
  now: number,
): ChatError {
  const status = error.status;
  const code = upstreamCode(error.error) ?? (typeof error.code === 'string' ? error.code : undefined);
  const upstreamMessage = error.message;
  const upstreamRequestId = error.headers?.get('apim-request-id') ?? undefined;
  const base = { upstreamStatus: status, ...(upstreamRequestId ? { upstreamRequestId } : {}), cause: error };
  const failure: ApiFailure = { status, code, upstreamMessage, ctx, where, base };

  const rejected = requestRejection(failure);
  if (rejected) return rejected;
  if (status === 404) return notFoundError(failure);
  if (status === 401 || status === 403) return authError(failure);
  if (status === 429) return throttleError(failure, error.headers, now);
  if (status === 408 || status >= 500) {
    return new ChatError(
      status === 408 ? 'upstream_timeout' : status === 503 ? 'region_unavailable' : 'upstream_error',
      {
        ...base,
        retryAfterMs: parseRetryAfterMs(error.headers, undefined, now),
        message: 'The model service had a problem.',
        diagnosis: `${where} answered ${status}${code ? ` ${code}` : ''}: ${upstreamMessage}`,
      },
    );
  }
  return new ChatError('invalid_request', {
    ...base,
    message: `The model rejected the request: ${upstreamErrorMessage(error.error) ?? upstreamMessage}`,
    diagnosis: `${where} answered ${status}${code ? ` ${code}` : ''}.`,
  });
}

/**
 * What a client is told when `previous_response_id` (or an item reference) names nothing it can continue:
 * the same words whether the region has no such response or the id was not given to this caller.
 */
export const PREVIOUS_RESPONSE_NOT_FOUND =
  'The earlier response named in previous_response_id (or an item_reference) was not found: it was stored with store: false, deleted, expired, or comes from elsewhere. Send the whole conversation in input instead.';

/** What the client must change (a filtered prompt, a conversation too long, a stored response gone); else undefined. */
function requestRejection(failure: ApiFailure): ChatError | undefined {
  const { status, code, base, where, upstreamMessage } = failure;
  if (status === 400 && code === 'content_filter') {
    return new ChatError('content_filtered', {
      ...base,
      message:
        "The request was blocked by the content filter (Azure OpenAI's content management policy). Rephrase the prompt and try again.",
      diagnosis: `Prompt filtered by ${where}; this is not an outage, so no other region was tried.`,
    });
  }
  if (status === 400 && code === 'context_length_exceeded') {
    return new ChatError('context_length_exceeded', {
      ...base,
      message: 'The conversation is too long for the model. Send fewer or shorter messages, or a smaller max_tokens.',
      diagnosis: `${where}: ${upstreamMessage}`,
    });
  }
  if ((status === 400 || status === 404) && code === 'previous_response_not_found') {
    return new ChatError('previous_response_not_found', {
      ...base,
      message: PREVIOUS_RESPONSE_NOT_FOUND,
      diagnosis: `${where}: ${upstreamMessage}`,
    });
  }
  return undefined;
}

/** A 429: throttled for a while, or (a window of an hour or more) the deployment's quota used up. */
function throttleError(failure: ApiFailure, headers: Headers | undefined, now: number): ChatError {
  const { base, where, ctx, upstreamMessage } = failure;
  const retryAfterMs = parseRetryAfterMs(headers, upstreamMessage, now);
  const long = retryAfterMs !== undefined && retryAfterMs >= 3_600_000;
  return new ChatError(long ? 'quota_exhausted' : 'throttled', {
    ...base,
    retryAfterMs,
    message: 'The model is busy. Try again shortly.',
    diagnosis: long
      ? `${where} says retry after ${Math.round(retryAfterMs / 1000)} s: the deployment "${ctx.deployment}" quota is exhausted; raise its capacity (TPM) or add a region.`
      : `${where} throttled deployment "${ctx.deployment}"${retryAfterMs === undefined ? '' : ` for ${retryAfterMs} ms`}.`,
  });
}

/**
 * A 404 is the operator's configuration, never the client's request: a deployment missing in the
 * region, or (Azure's bare `{"error":{"code":"404","message":"Resource not found"}}`) an endpoint
 * that is not an Azure OpenAI v1 base URL, e.g. a wrong path or another kind of resource.
 */
function notFoundError({ code, upstreamMessage, ctx, where, base }: ApiFailure): ChatError {
  if (code === 'DeploymentNotFound' || code === 'deployment_not_found') {
    const mapping = Object.entries(ctx.deployments)
      .map(([m, d]) => `${m} -> ${d}`)
      .join(', ');
    return new ChatError('deployment_not_found', {
      ...base,
      message: `Model "${ctx.model}" is not available: its deployment is missing.`,
      diagnosis:
        `Deployment "${ctx.deployment}" does not exist on ${where}. Azure routes by deployment name, not model name: ` +
        `create a deployment named "${ctx.deployment}" of model ${ctx.model} there, or fix the mapping in CHAT_REGIONS ` +
        `(this region maps ${mapping}). A deployment created in the last 5 minutes may not be routable yet.`,
    });
  }
  return new ChatError('endpoint_not_found', {
    ...base,
    message: 'The model service is misconfigured. The operator has been told why.',
    diagnosis:
      `Endpoint ${ctx.endpoint} of region ${ctx.region} answered 404 (${upstreamMessage}) to ${new URL('openai/v1/chat/completions', ctx.endpoint).toString()}: ` +
      `it is not an Azure OpenAI v1 endpoint. Set the region's "endpoint" in CHAT_REGIONS to the resource's base URL, ` +
      `which the backend extends to ${ENDPOINT_SHAPE} (e.g. https://RESOURCE.openai.azure.com/, no path), and check that the resource is an Azure OpenAI (or AI Services) account.`,
  });
}

function fromThrown(error: unknown, ctx: UpstreamContext, where: string): ChatError {
  const credentialError = findCredentialError(error);
  if (credentialError) {
    return new ChatError('credential_unavailable', {
      message: 'The backend could not get a token for the model service. The operator has been told why.',
      diagnosis:
        `No token for https://cognitiveservices.azure.com could be had (${credentialError.name}): ${credentialError.message.split('\n')[0]} ` +
        'In Azure: give the Function App a managed identity (and set AZURE_CLIENT_ID for a user-assigned one). Locally: run "az login", or use CHAT_AUTH_MODE=api-key.',
      cause: error,
    });
  }
  if (error instanceof APIConnectionError || error instanceof Error) {
    const sysCode = causeCode(error);
    if (sysCode === 'ENOTFOUND' || sysCode === 'EAI_AGAIN') {
      return new ChatError('endpoint_not_found', {
        message: 'The model service could not be reached.',
        diagnosis: `The host ${host(ctx.endpoint)} for region ${ctx.region} does not resolve: check the resource name in CHAT_REGIONS (custom subdomain, e.g. https://<resource-name>.openai.azure.com/).`,
        cause: error,
      });
    }
    return new ChatError('region_unavailable', {
      message: 'The model service could not be reached.',
      diagnosis: `Connection to ${where} failed${sysCode ? ` (${sysCode})` : ''}.${localHint(ctx.endpoint, sysCode)}`,
      cause: error,
    });
  }
  return new ChatError('internal_error', { message: 'Unexpected error.', diagnosis: String(error), cause: error });
}

/** A refused connection to this machine means the local simulator is not running: say how to start it. */
function localHint(endpoint: string, sysCode: string | undefined): string {
  if (sysCode !== 'ECONNREFUSED' || !isLoopback(endpoint)) return '';
  return ' This endpoint is the local simulator, which is not running: start the backend with "npm start", or only the simulated regions with "npm run simulators".';
}

function authError({ status, code, upstreamMessage, ctx, where, base }: ApiFailure): ChatError {
  const message = 'The backend is not authorised to call the model service. The operator has been told why.';
  if (code === 'AuthenticationTypeDisabled') {
    return new ChatError('local_auth_disabled', {
      ...base,
      message,
      diagnosis: `${where} has key authentication disabled (disableLocalAuth): use CHAT_AUTH_MODE=managed-identity (or key-vault with local auth enabled on the resource).`,
    });
  }
  if (ctx.auth !== 'managed-identity') {
    const keySource = ctx.keySecretName ? `Key Vault secret "${ctx.keySecretName}"` : 'AZURE_OPENAI_API_KEY';
    return new ChatError('key_rejected', {
      ...base,
      message,
      diagnosis: `${where} rejected the API key from ${keySource} (${status}). Check that the key belongs to ${host(ctx.endpoint)}, or rotate it: az cognitiveservices account keys list --name <resource> --resource-group <rg>, then update ${keySource}.`,
    });
  }
  const principal = upstreamMessage.match(/principal `([^`]+)`/i)?.[1];
  const identity = principal ?? ctx.identity ?? 'the managed identity (system-assigned, or AZURE_CLIENT_ID)';
  if (code === 'PermissionDenied' || /lacks the required data action|does not have access/i.test(upstreamMessage)) {
    return new ChatError('permission_denied', {
      ...base,
      message,
      diagnosis:
        `Identity ${identity} has a valid token but no role on ${where}. Assign it the role "Cognitive Services OpenAI User" on that Azure OpenAI resource ` +
        `(az role assignment create --assignee <principal id> --role "Cognitive Services OpenAI User" --scope <resource id>). ${PROPAGATION}`,
    });
  }
  return new ChatError('token_rejected', {
    ...base,
    message,
    diagnosis:
      `${where} rejected the access token of ${identity} (${status}${code ? ` ${code}` : ''}): it is missing, expired, for the wrong tenant or for the wrong audience. ` +
      `Tokens must be for https://cognitiveservices.azure.com/.default. If the identity is new or its role was just assigned: ${PROPAGATION}`,
  });
}
