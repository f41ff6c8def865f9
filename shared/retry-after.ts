/**
 * How long an upstream answer asks us to wait, in ms, or undefined when it says nothing usable.
 * Order (as Azure OpenAI and the openai SDK read it): `retry-after-ms`, then `retry-after` as
 * seconds or an HTTP date, then the "Please retry after N seconds" sentence in Azure's 429 body.
 * An explicit 0 counts: it means "now", not "unknown".
 */
export function parseRetryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  message?: string,
  now: number = Date.now(),
): number | undefined {
  const ms = headers?.get('retry-after-ms')?.trim();
  if (ms !== undefined && ms !== '' && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));

  const value = headers?.get('retry-after')?.trim();
  if (value !== undefined && value !== '') {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }

  // Azure's 429 bodies: "... Please retry after 45 seconds." / "Try again in 50 seconds."
  const sentence = message?.match(/(?:retry after|try again in) (\d+) seconds?/i);
  if (sentence?.[1] !== undefined) return Number(sentence[1]) * 1000;
  return undefined;
}

/**
 * The longest wait, ms, for which we let a client SDK retry on its own. The openai SDKs honour
 * `retry-after-ms`/`retry-after` up to 60 s and retry twice by default, so a 30 s window left to them
 * keeps a chat user staring at a spinner for a minute or more before any error shows. Past this
 * window a retry would fail anyway (the regions are out until then): say so with
 * `x-should-retry: false`, which those SDKs obey, and let the front-end show the error at once.
 */
export const CLIENT_RETRY_MAX_MS = 2_000;

/** When a 429/503 gives no window of its own, ms. */
export const DEFAULT_CLIENT_RETRY_AFTER_MS = 5_000;

/**
 * The retry headers of a 429 or 503 we answer: `retry-after` in whole seconds (at least 1, for any
 * HTTP client), `retry-after-ms` (exact, read first by the openai SDKs) and `x-should-retry`.
 */
export function retryAdviceHeaders(retryAfterMs: number | undefined): Record<string, string> {
  const ms = Math.max(0, Math.ceil(retryAfterMs ?? DEFAULT_CLIENT_RETRY_AFTER_MS));
  return {
    'retry-after': String(Math.max(1, Math.ceil(ms / 1000))),
    'retry-after-ms': String(ms),
    'x-should-retry': ms <= CLIENT_RETRY_MAX_MS ? 'true' : 'false',
  };
}
