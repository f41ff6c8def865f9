/**
 * CORS as App Service / `func start` apply it (ASP.NET Core CORS): allowed origins get
 * `Access-Control-Allow-Origin`, preflights are answered by the host with 204, disallowed origins get no
 * CORS headers at all. Stricter than a plain reflection, because with sign-in (bearer tokens, App Service
 * auth cookies) a loose CORS policy is a cross-site request risk:
 * - an origin is matched as a whole (`scheme://host[:port]`, nothing after it), so a wildcard subdomain
 *   `https://*.example.com` never admits `https://evil.com/.example.com`;
 * - with credentials, only exact origins count: `*` and wildcards never combine with credentials;
 * - a preflight is answered only for a method the route on that path accepts (and, when configured, only
 *   with the request headers the backend reads);
 * - answers that depend on the origin say so (`Vary: Origin`), so a shared cache never hands one origin's
 *   answer to another.
 */
export interface CorsOptions {
  /** Exact origins (`https://app.example.com`), wildcard subdomains (`https://*.example.com`) or `*`. */
  readonly allowedOrigins: readonly string[];
  /** Sends `Access-Control-Allow-Credentials: true`; then only exact origins are allowed. */
  readonly supportCredentials?: boolean;
  /**
   * Request headers a preflight may allow (lower case). Default: whatever is asked, as App Service's CORS
   * does; `npm start` passes {@link BACKEND_REQUEST_HEADERS}.
   */
  readonly allowedRequestHeaders?: readonly string[];
}

export type HeaderMap = Record<string, string>;

/** Request headers a browser sends to this backend (lower case): all a preflight needs to allow. */
export const BACKEND_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'authorization',
  'content-type',
  'x-functions-key',
  'x-request-id',
  'x-ms-client-request-id',
  'traceparent',
];

export function isPreflight(method: string | undefined, headers: Record<string, unknown>): boolean {
  return (
    method?.toUpperCase() === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

/** `scheme://host[:port]` in lower case, or undefined when `origin` is not exactly that (a path, user info...). */
function canonicalOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    const canonical = url.origin.toLowerCase();
    return canonical !== 'null' && canonical === origin.replace(/\/$/, '').toLowerCase() ? canonical : undefined;
  } catch {
    return undefined;
  }
}

export function isOriginAllowed(origin: string, cors: CorsOptions): boolean {
  const normalized = canonicalOrigin(origin);
  if (normalized === undefined) return false;
  return cors.allowedOrigins.some((allowed) => {
    const pattern = allowed.trim().replace(/\/+$/, '').toLowerCase();
    if (pattern === '*') return cors.supportCredentials !== true;
    const wildcard = /^([a-z][a-z0-9+.-]*:\/\/)\*\.(.+)$/.exec(pattern);
    if (wildcard) {
      if (cors.supportCredentials === true) return false;
      const [, scheme = '', domain = ''] = wildcard;
      return normalized.startsWith(scheme) && normalized.slice(scheme.length).endsWith(`.${domain}`);
    }
    return pattern === normalized;
  });
}

/** Headers for an actual (non-preflight) request; only `Vary: Origin` when the origin is not allowed. */
export function corsResponseHeaders(origin: string | undefined, cors: CorsOptions | undefined): HeaderMap {
  if (!cors) return {};
  const anyOrigin = cors.supportCredentials !== true && cors.allowedOrigins.some((o) => o.trim() === '*');
  if (anyOrigin) return origin === undefined ? {} : { 'access-control-allow-origin': '*' };
  // The answer depends on the origin even when it carries no CORS header: caches must key on it.
  if (origin === undefined || !isOriginAllowed(origin, cors)) return { vary: 'Origin' };
  const headers: HeaderMap = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (cors.supportCredentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

/** What a preflight asks for. */
export interface PreflightRequest {
  readonly origin: string;
  readonly method: string;
  readonly headers: string | undefined;
  /** Methods the routes on the requested path accept (upper case). */
  readonly routeMethods: readonly string[];
}

/** Headers for a preflight answer: the origin headers plus the method and the allowed requested headers. */
export function corsPreflightHeaders(request: PreflightRequest, cors: CorsOptions): HeaderMap {
  const method = request.method.toUpperCase();
  const headers = corsResponseHeaders(request.origin, cors);
  if (headers['access-control-allow-origin'] === undefined || !request.routeMethods.includes(method)) {
    return { vary: 'Origin' };
  }
  headers['access-control-allow-methods'] = method;
  const allowed = allowedHeaders(request.headers, cors.allowedRequestHeaders);
  if (allowed) headers['access-control-allow-headers'] = allowed;
  return headers;
}

function allowedHeaders(requested: string | undefined, allowed: readonly string[] | undefined): string | undefined {
  if (!requested || allowed === undefined) return requested || undefined;
  const kept = requested
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => allowed.includes(h));
  return kept.length > 0 ? kept.join(', ') : undefined;
}
