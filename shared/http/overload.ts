/**
 * The answers of requests turned away before any work: by the load shedder (shared/resilience/load-shedder.ts),
 * 503 `overloaded`; by the per-caller limit (shared/resilience/caller-limit.ts), 429 `too_many_in_flight`. Each
 * in the one error body, with the retry headers of every 429/503 (Retry-After, retry-after-ms, x-should-retry).
 * Built without logging: under overload a line per request would add to the load; the shedder logs each change
 * of state instead, and telemetry counts what was shed.
 */
import type { HttpResponseInit } from '@azure/functions';
import { ChatError } from '../errors';
import type { OverLimit } from '../resilience/caller-limit';
import type { Shed } from '../resilience/load-shedder';
import { requestIdFrom } from './request-id';
import { errorBody, errorHeaders, jsonResponse } from './responses';

/** 503 `overloaded` for a shed request; `exposeDiagnostics` adds the lag that decided it. */
export function overloadedResponse(
  request: { readonly headers: { get(name: string): string | null } },
  shed: Shed,
  config: { readonly exposeDiagnostics: boolean },
): HttpResponseInit {
  const requestId = requestIdFrom(request.headers);
  const seconds = Math.ceil(shed.retryAfterMs / 1000);
  const error = new ChatError('overloaded', {
    message: `This backend instance is overloaded and turned the request away before doing any work. Retry after ${seconds} s (Retry-After).`,
    diagnosis: `Event-loop lag ${shed.lagMs} ms (smoothed) is over CHAT_SHED_LAG_MS=${shed.thresholdMs}: new requests are refused until it is back under ${shed.thresholdMs / 2} ms. More instances (or fewer concurrent requests per instance) fix it; CHAT_SHED_LAG_MS=0 turns shedding off.`,
    requestId,
    retryAfterMs: shed.retryAfterMs,
  });
  return unlogged(error, requestId, config);
}

/**
 * 429 `too_many_in_flight` for a caller over CHAT_CALLER_MAX_IN_FLIGHT (shared/resilience/caller-limit.ts),
 * built without logging for the same reason as {@link overloadedResponse}: a flood would write a line each.
 */
export function tooManyInFlightResponse(
  request: { readonly headers: { get(name: string): string | null } },
  over: OverLimit,
  config: { readonly exposeDiagnostics: boolean },
): HttpResponseInit {
  const requestId = requestIdFrom(request.headers);
  const error = new ChatError('too_many_in_flight', {
    message: `You already have ${over.inFlight} requests running, the most one caller may have at once. Wait for one to finish, then retry (Retry-After).`,
    diagnosis: `The caller has ${over.inFlight} requests in flight on this instance; CHAT_CALLER_MAX_IN_FLIGHT=${over.limit}. Refused before reading the body.`,
    requestId,
    retryAfterMs: over.retryAfterMs,
  });
  return unlogged(error, requestId, config);
}

/** The one error body and headers for `error`, without the log line `errorResponse` (./responses.ts) writes. */
function unlogged(
  error: ChatError,
  requestId: string,
  config: { readonly exposeDiagnostics: boolean },
): HttpResponseInit {
  const ctx = { requestId, exposeDiagnostics: config.exposeDiagnostics };
  return jsonResponse(error.status, errorBody(error, ctx), errorHeaders(error, requestId));
}
