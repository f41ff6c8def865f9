/**
 * The answer of a request the load shedder turned away (shared/resilience/load-shedder.ts): 503
 * `overloaded` in the one error body, with the retry headers of every 429/503 (Retry-After,
 * retry-after-ms, x-should-retry). Built without logging: under overload a line per request would add
 * to the load; the shedder logs each change of state instead, and telemetry counts what was shed.
 */
import type { HttpResponseInit } from '@azure/functions';
import { ChatError } from '../errors';
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
  const ctx = { requestId, exposeDiagnostics: config.exposeDiagnostics };
  return jsonResponse(error.status, errorBody(error, ctx), errorHeaders(error, requestId));
}
