/**
 * CORS as App Service / `func start` apply it (ASP.NET Core CORS with AllowAnyMethod/AllowAnyHeader):
 * allowed origins get `Access-Control-Allow-Origin`, preflights are answered by the host with 204,
 * disallowed origins get no CORS headers at all.
 */
export interface CorsOptions {
  /** Exact origins (`https://app.example.com`), wildcard subdomains (`https://*.example.com`) or `*`. */
  readonly allowedOrigins: readonly string[];
  /** Sends `Access-Control-Allow-Credentials: true`; the origin is then echoed even when `*` is allowed. */
  readonly supportCredentials?: boolean;
}

export type HeaderMap = Record<string, string>;

export function isPreflight(method: string | undefined, headers: Record<string, unknown>): boolean {
  return (
    method?.toUpperCase() === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

export function isOriginAllowed(origin: string, cors: CorsOptions): boolean {
  const normalized = origin.replace(/\/+$/, '').toLowerCase();
  return cors.allowedOrigins.some((allowed) => {
    const pattern = allowed.trim().replace(/\/+$/, '').toLowerCase();
    if (pattern === '*') return true;
    const wildcard = /^([a-z][a-z0-9+.-]*:\/\/)\*\.(.+)$/.exec(pattern);
    if (wildcard) {
      const [, scheme = '', domain = ''] = wildcard;
      return normalized.startsWith(scheme) && normalized.slice(scheme.length).endsWith(`.${domain}`);
    }
    return pattern === normalized;
  });
}

/** Headers for an actual (non-preflight) request; empty when there is no origin or it is not allowed. */
export function corsResponseHeaders(origin: string | undefined, cors: CorsOptions | undefined): HeaderMap {
  if (!cors || origin === undefined || !isOriginAllowed(origin, cors)) return {};
  const anyOrigin = cors.allowedOrigins.some((o) => o.trim() === '*');
  if (anyOrigin && !cors.supportCredentials) return { 'access-control-allow-origin': '*' };
  const headers: HeaderMap = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (cors.supportCredentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

/** Headers for a preflight answer: the origin headers plus the requested method and headers echoed. */
export function corsPreflightHeaders(
  origin: string,
  requestMethod: string,
  requestHeaders: string | undefined,
  cors: CorsOptions,
): HeaderMap {
  const headers = corsResponseHeaders(origin, cors);
  if (Object.keys(headers).length === 0) return headers;
  headers['access-control-allow-methods'] = requestMethod.toUpperCase();
  if (requestHeaders) headers['access-control-allow-headers'] = requestHeaders;
  return headers;
}
