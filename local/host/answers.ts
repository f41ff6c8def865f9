/**
 * The host's own answers (no function ran, the request was malformed or too slow, or the function failed) in the
 * backend's one error body:
 * `{"error": {"code", "message", "requestId"}}` with `x-request-id`, so clients never see an empty 401 or 404
 * (the OpenAI SDKs print those as "401 status code (no body)").
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { originNotAllowedMessage } from '../../shared/http/cors-hint';
import { requestIdFrom } from '../../shared/http/request-id';
import type { ErrorBody } from '../../shared/http/responses';
import type { HeaderMap } from './cors';
import type { Refusal } from './gate';
import type { HttpLimits } from './limits';
import { closeUnlessDrainable } from './requestBody';
import type { HttpRoute } from './routeTable';

export interface HostError {
  readonly status: 400 | 401 | 403 | 404 | 408 | 500 | 502;
  readonly code:
    | 'invalid_request'
    | 'unauthorized'
    | 'origin_not_allowed'
    | 'forbidden'
    | 'not_found'
    | 'request_timeout'
    | 'internal_error'
    | 'bad_gateway';
  readonly message: string;
}

export interface RefusedRequest {
  readonly reason: Refusal;
  /** The function whose key check failed; undefined when no route matched. */
  readonly route: HttpRoute | undefined;
  readonly method: string;
  /** The path only: the query may carry a key (`?code=`), which never goes into an answer. */
  readonly pathname: string;
  /** The request's `Origin`, if any. */
  readonly origin?: string;
}

export const invocationFailed: HostError = {
  status: 500,
  code: 'internal_error',
  message:
    "The function failed without answering; the host's log shows the error. Quote the request id when you report it.",
};

/**
 * A request target that is not a path (`//other.host/api/chat`, `http://other.host/api/chat`): this host is an
 * origin server, never a proxy, and a target naming another host must not decide where anything is sent.
 */
export const notOriginForm: HostError = {
  status: 400,
  code: 'invalid_request',
  message: 'The request target must be a path starting with a single "/" (this host is not a proxy).',
};

/** A `Host` that does not name this machine (local/host/host-names.ts): a DNS rebinding attempt, or a name to allow. */
export const hostNotAllowed: HostError = {
  status: 403,
  code: 'forbidden',
  message:
    'This local host answers only requests addressed to localhost or an IP address; list other names in LOCAL_ALLOWED_HOSTS.',
};

/** The loopback hop to the library's proxy failed before an answer (`libraryProxy: 'http'` only). */
export const proxyFailed: HostError = {
  status: 502,
  code: 'bad_gateway',
  message: "The host could not pass the request to the function's HTTP proxy; the host's log shows why. Try again.",
};

export const bodyTimedOut: HostError = {
  status: 408,
  code: 'request_timeout',
  message: 'The request body stopped arriving before it was complete: send it in one go, then read the answer.',
};

/**
 * A failed invocation: the host's 500 if nothing was sent yet, else the connection is cut, so the client sees a
 * truncated response rather than a clean end.
 */
export function answerInvocationFailure(res: ServerResponse, answer: ErrorAnswer): void {
  if (!res.headersSent && !res.destroyed) sendHostError(res, invocationFailed, answer);
  else res.destroy();
}

export function refusalError(refused: RefusedRequest): HostError {
  switch (refused.reason) {
    case 'origin-not-allowed':
      // Where App Service answers without CORS headers (the browser says only "CORS error"), the network panel
      // shows which setting allows the origin.
      return { status: 403, code: 'origin_not_allowed', message: originNotAllowedMessage(refused.origin ?? '') };
    case 'body-not-allowed':
      return {
        status: 400,
        code: 'invalid_request',
        message: `A ${refused.method} request takes no body: send the parameters in the query string.`,
      };
    case 'no-route':
      return {
        status: 404,
        code: 'not_found',
        message: `No function matches ${refused.method} ${refused.pathname}: check the route and the method.`,
      };
    case 'missing':
      return {
        status: 401,
        code: 'unauthorized',
        message:
          'This endpoint needs a function key: send it in the x-functions-key header or the code query parameter.',
      };
    case 'rejected':
      return {
        status: 401,
        code: 'unauthorized',
        message:
          refused.route?.info.authLevel === 'admin'
            ? 'The function key was rejected: this endpoint takes only the master key.'
            : 'The function key was rejected: it is none of the keys this host accepts (npm start prints the one it takes).',
      };
  }
}

/** The caller's `x-request-id` when it is a sane token, else a new one (the rule the app's functions follow). */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  return requestIdFrom({
    get: (name) => {
      const value = headers[name];
      return (Array.isArray(value) ? value[0] : value) ?? null;
    },
  });
}

export interface ErrorAnswer {
  readonly requestId: string;
  /** Added to the answer (CORS). */
  readonly headers: HeaderMap;
  /** Whether the connection may serve another request when the body was not read (see closeUnlessDrainable). */
  readonly limits: HttpLimits;
}

export function sendHostError(res: ServerResponse, error: HostError, answer: ErrorAnswer): void {
  closeUnlessDrainable(res, answer.limits);
  const body: ErrorBody = { error: { code: error.code, message: error.message, requestId: answer.requestId } };
  res
    .writeHead(error.status, {
      ...answer.headers,
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': answer.requestId,
    })
    .end(JSON.stringify(body));
}
