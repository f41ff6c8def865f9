/**
 * Response helpers and the one place that maps errors to HTTP responses. Every error body has the
 * shape from the brief: {"error": {"code", "message", "requestId"}}, with Retry-After on 429/503.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { Served } from '../chat-service';
import type { ConversationOutcome } from '../conversations';
import { ChatError, triedCount, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { retryAdviceHeaders } from '../retry-after';
import { conversationHeaders } from './conversations';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly requestId: string;
    readonly details?: {
      readonly diagnosis?: string;
      readonly attempts?: ChatError['attempts'];
      readonly fields?: ChatError['fields'];
    };
  };
}

/**
 * Lets cross-origin front-ends read our headers: CORS hides every response header but a few
 * unless the response names them (App Service CORS does not add this).
 */
const EXPOSED_HEADERS =
  'x-request-id, x-chat-region, x-chat-attempts, retry-after, retry-after-ms, x-should-retry, ' +
  'x-conversation-id, x-conversation-state, x-conversation-warning';

/** Headers that say which region answered, how many tries it took, and what came of the conversation. */
export function servedHeaders(
  served: Pick<Served, 'region' | 'attempts' | 'requestId'> & { readonly conversation?: () => ConversationOutcome },
): Record<string, string> {
  return {
    'x-request-id': served.requestId,
    'x-chat-region': served.region,
    'x-chat-attempts': String(triedCount(served.attempts)),
    ...conversationHeaders(served.conversation?.()),
    'access-control-expose-headers': EXPOSED_HEADERS,
  };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}

export interface ErrorContext {
  readonly requestId: string;
  /** Include the operator diagnosis and attempts in the body (local development). */
  readonly exposeDiagnostics: boolean;
  readonly logger?: Logger;
}

/** Normalises anything thrown into a ChatError (unknown errors become a 500 that says nothing internal). */
export function toChatError(error: unknown, requestId: string): ChatError {
  if (error instanceof ChatError) return error.requestId ? error : error.with({ requestId });
  return new ChatError('internal_error', {
    message: 'Something went wrong in the backend. Quote the request id when you report it.',
    diagnosis: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    requestId,
    cause: error,
  });
}

export function errorBody(error: ChatError, ctx: ErrorContext): ErrorBody {
  const details = {
    ...(ctx.exposeDiagnostics && error.diagnosis ? { diagnosis: error.diagnosis } : {}),
    ...(ctx.exposeDiagnostics && error.attempts ? { attempts: error.attempts } : {}),
    ...(error.fields ? { fields: error.fields } : {}),
  };
  return {
    error: {
      code: error.code,
      message: error.message,
      requestId: error.requestId ?? ctx.requestId,
      ...(Object.keys(details).length > 0 ? { details } : {}),
    },
  };
}

/**
 * Codes (other than 429/503, whose headers say when) where the same request sent again at once may succeed:
 * an upstream that timed out or answered badly. Everything else is the request's own fault (4xx), this
 * backend's configuration (the 502s an operator must fix), a conversation the client must resend whole
 * (409), or a failure a retry would repeat. The openai SDKs retry 408, 409, 429 and every 5xx twice unless
 * told `x-should-retry: false`, which they obey
 * (https://github.com/openai/openai-node/blob/master/src/client.ts, `shouldRetry`).
 */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['upstream_timeout', 'upstream_error']);

/** Whether a client should send the same request again at once after an error with `code` (not 429/503). */
export function clientMayRetry(code: ErrorCode): boolean {
  return RETRYABLE_CODES.has(code);
}

export function errorHeaders(error: ChatError, requestId: string): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': error.requestId ?? requestId,
    'access-control-expose-headers': EXPOSED_HEADERS,
  };
  if (error.status === 429 || error.status === 503) Object.assign(headers, retryAdviceHeaders(error.retryAfterMs));
  else headers['x-should-retry'] = clientMayRetry(error.code) ? 'true' : 'false';
  // RFC 6750: a 401 names the scheme to use; a 403 for a valid token says what it lacks. No realm or
  // audience: nothing here may tell an anonymous caller what the API expects.
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer';
  if (error.code === 'forbidden') headers['www-authenticate'] = 'Bearer error="insufficient_scope"';
  if (error.attempts) headers['x-chat-attempts'] = String(triedCount(error.attempts));
  return headers;
}

export function errorResponse(thrown: unknown, ctx: ErrorContext): HttpResponseInit {
  const error = toChatError(thrown, ctx.requestId);
  const line = `${error.status} ${error.code}: ${error.message}`;
  const properties = {
    ...(error.diagnosis ? { diagnosis: error.diagnosis } : {}),
    ...(error.attempts ? { attempts: error.attempts } : {}),
  };
  // A client that left gets 499 (nginx's "client closed request"): nobody reads it, but the log shows it.
  if (error.status >= 500) ctx.logger?.error(line, properties);
  else ctx.logger?.warn(line, properties);
  return jsonResponse(error.status, errorBody(error, ctx), errorHeaders(error, ctx.requestId));
}
