import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { requestLogger, type Logger } from '../logger';

/** The caller's `x-request-id` when it is a sane token, else a new UUID. Carried to upstream calls, logs and error bodies. */
export function requestIdFrom(headers: { get(name: string): string | null }): string {
  const given = headers.get('x-request-id') ?? headers.get('x-ms-client-request-id');
  return given !== null && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/** The invocation's W3C traceparent, so upstream telemetry shows under the host's request. */
export function traceParentOf(context: { traceContext?: { traceParent?: string | null | undefined } }): {
  traceParent?: string;
} {
  const traceParent = context.traceContext?.traceParent;
  return traceParent ? { traceParent } : {};
}

/**
 * What every chat handler derives from the request first: its id, a logger carrying it, and whether
 * error bodies carry the operator's diagnosis. Also the context error responses and frames need.
 */
export function requestScope(
  request: { readonly headers: { get(name: string): string | null } },
  context: InvocationContext,
  config: { readonly exposeDiagnostics: boolean },
): { readonly requestId: string; readonly logger: Logger; readonly exposeDiagnostics: boolean } {
  const requestId = requestIdFrom(request.headers);
  return { requestId, logger: requestLogger(context, requestId), exposeDiagnostics: config.exposeDiagnostics };
}
