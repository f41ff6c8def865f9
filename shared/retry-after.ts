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
