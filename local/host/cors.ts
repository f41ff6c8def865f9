/**
 * CORS as App Service / `func start` apply it (ASP.NET Core CORS): allowed origins get
 * `Access-Control-Allow-Origin`, preflights are answered by the host with 204, disallowed origins get no
 * CORS headers at all. Stricter than a plain reflection, because with sign-in (bearer tokens, App Service
 * auth cookies) a loose CORS policy is a cross-site request risk:
 * - an origin is matched as a whole (`scheme://host[:port]`, nothing after it), so a wildcard subdomain
 *   `https://*.example.com` never admits `https://evil.com/.example.com`;
 * - with credentials, only exact origins count: `*` and wildcards never combine with credentials;
 * - a preflight is answered only for a method the route on that path accepts, allowing the request headers it
 *   asks for (as App Service does: the local host is never stricter than Azure, or a front-end that works in Azure
 *   would fail locally; the openai SDK alone sends a dozen `x-stainless-*` headers);
 * - a preflight from an origin that is not allowed gets 403 with a body naming the setting (gate.ts), where App
 *   Service would answer without CORS headers and the browser would say only "CORS error";
 * - answers that depend on the origin say so (`Vary: Origin`), so a shared cache never hands one origin's
 *   answer to another.
 */
export interface CorsOptions {
  /** Exact origins (`https://app.example.com`), wildcard subdomains (`https://*.example.com`) or `*`. */
  readonly allowedOrigins: readonly string[];
  /** Sends `Access-Control-Allow-Credentials: true`; then only exact origins are allowed. */
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
  if (request.headers?.trim()) headers['access-control-allow-headers'] = request.headers;
  return headers;
}
