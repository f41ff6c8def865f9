/**
 * How long and how much the host waits for a client, as Azure's front end bounds it: a client that stalls or
 * floods never holds a connection (or the invocation behind it) for long.
 */
export interface HttpLimits {
  /** Time to receive the request headers, ms (Node `headersTimeout`). Default 30 000, as Kestrel's. */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request, body included, ms (Node `requestTimeout`). Default 60 000. */
  readonly requestTimeoutMs: number;
  /** Longest silence in the middle of a request body, ms: the host answers 408 and closes. Default 10 000. */
  readonly bodyIdleTimeoutMs: number;
  /**
   * After an answer sent before the body was read (401, 413, 415): a declared `content-length` still to come of at
   * most this many bytes is read and dropped so the connection can serve the next request; a larger or chunked
   * body closes the connection instead. Default 65 536.
   */
  readonly drainBytes: number;
}

export const defaultHttpLimits: Readonly<HttpLimits> = Object.freeze({
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  bodyIdleTimeoutMs: 10_000,
  drainBytes: 64 * 1024,
});

/** Defaults filled in; Node refuses a `headersTimeout` above `requestTimeout`, so that is checked here, by name. */
export function resolveLimits(limits: Partial<HttpLimits> = {}): HttpLimits {
  const resolved = { ...defaultHttpLimits, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new RangeError(`limits.${name} must be a positive integer (ms or bytes), got ${value}`);
  }
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw new RangeError('limits.headersTimeoutMs must not exceed limits.requestTimeoutMs (e.g. 30000 and 60000)');
  }
  return Object.freeze(resolved);
}
