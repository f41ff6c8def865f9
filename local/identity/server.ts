/**
 * A small OpenID Connect provider for local development and tests: the embedded default's
 * stand-in for Microsoft Entra ID. It serves its OpenID configuration, its JWKS and `POST /token`, which
 * mints an access token for any user name: there is no password, so it binds to loopback only.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { JWK, JWTPayload } from 'jose';
import { ConfigError } from '../../shared/config';
import { isOriginAllowed } from '../host/cors';
import { requestIdFrom } from '../../shared/http/request-id';
import { parseJson, readBody, sendJson } from '../../simulator/http';
import { writePrivateFile } from '../dev-secrets';
import type { Subject } from './tokens';
import { accessTokenClaims, KeyRing, LOCAL_API_CLIENT_ID, LOCAL_TENANT_ID, signAccessToken } from './tokens';

export interface IdentityProviderOptions {
  /** Port to listen on; 0 picks a free one (tests). Default 7083. */
  readonly port?: number;
  /** Default `127.0.0.1`. Anyone who reaches the port can mint tokens, so keep it on loopback. */
  readonly host?: string;
  /** Default {@link LOCAL_TENANT_ID}. */
  readonly tenantId?: string;
  /** The API's client id, the `aud` of tokens. Default {@link LOCAL_API_CLIENT_ID}. */
  readonly audience?: string;
  /** `scp` of user tokens when the request names none. Default `chat`. */
  readonly scope?: string;
  /** Token lifetime when the request names none, seconds. Default 3600. */
  readonly lifetimeSeconds?: number;
  /** Clock in ms since the epoch, for `iat`/`nbf`/`exp`. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * A file that keeps the signing keys across restarts (`npm start`: `.local-secrets/identity-keys.json`), so
   * tokens signed before a restart still verify. Read at start when present, else made and written (owner-only);
   * rotations are written too. Default: none, a fresh key per start (tests).
   */
  readonly keyFile?: string;
  /**
   * Browser origins that may read the provider's answers (CORS), as the backend's CORS settings write them:
   * `npm start` passes the API's own origin and `Host.CORS`. Default: pages on this machine only (localhost,
   * 127.0.0.1, [::1], any port). Never `*` unless listed: a page anywhere could otherwise mint tokens.
   */
  readonly allowedOrigins?: readonly string[];
}

/** Optional fields of a token request besides `user` (or `app`). */
export interface TokenRequestExtras {
  /** `scp` of a user token. */
  readonly scope?: string;
  /** App roles of an app-only token. */
  readonly roles?: readonly string[];
  /** Lifetime, seconds (1 to 86 400). */
  readonly expires_in?: number;
  /** For tests: claims to set over the defaults; `null` removes one (e.g. `{"aud": "other", "scp": null}`). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** How many requests each endpoint has served: tests prove the backend's JWKS caching with these. */
export interface IdentityProviderStats {
  readonly configuration: number;
  readonly jwks: number;
  readonly token: number;
}

export interface RunningIdentityProvider {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** `${url}/${tenantId}/v2.0`, shaped like Entra's v2 issuer. */
  readonly issuer: string;
  readonly tenantId: string;
  readonly audience: string;
  /** Mints an access token for a user (`{ user }`) or a daemon app (`{ app, roles }`), as `POST /token` does. */
  token(user: string, extras?: TokenRequestExtras): Promise<string>;
  appToken(app: string, extras?: TokenRequestExtras): Promise<string>;
  /** Makes a new signing key (returned `kid`) that signs from now on; the previous key stays published. */
  rotateKey(): Promise<string>;
  /** The app settings that make the backend trust this provider. */
  backendSettings(): Readonly<Record<IdentitySettingName, string>>;
  stats(): IdentityProviderStats;
  close(): Promise<void>;
}

export type IdentitySettingName =
  'CHAT_AUTH_OPENID_CONFIG_URL' | 'CHAT_AUTH_TENANT_ID' | 'CHAT_AUTH_AUDIENCE' | 'CHAT_AUTH_ISSUERS';

const USER = /^[A-Za-z0-9._@-]{1,64}$/;
const JWKS_PATH = '/discovery/v2.0/keys';
const MAX_BODY_BYTES = 16_384;

/** `IDENTITY_PROVIDER_PORT`: where `npm start` serves the local provider. Default 7083. */
export function identityProviderPort(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.IDENTITY_PROVIDER_PORT?.trim() || '7083';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError('IDENTITY_PROVIDER_PORT', `must be a port number from 0 to 65535, got "${raw}"`, '7083');
  }
  return port;
}

type Parsed = { readonly subject: Subject; readonly extras: TokenRequestExtras } | { readonly problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseExtras(body: Record<string, unknown>): TokenRequestExtras | string {
  const { scope, roles, expires_in: expiresIn, claims } = body;
  if (scope !== undefined && (typeof scope !== 'string' || scope.trim() === ''))
    return '"scope" must be a non-empty string';
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    return '"roles" must be an array of strings';
  }
  if (
    expiresIn !== undefined &&
    !(Number.isInteger(expiresIn) && Number(expiresIn) >= 1 && Number(expiresIn) <= 86_400)
  ) {
    return '"expires_in" must be a whole number of seconds from 1 to 86400';
  }
  if (claims !== undefined && !isRecord(claims)) return '"claims" must be an object';
  return {
    ...(scope === undefined ? {} : { scope }),
    ...(roles === undefined ? {} : { roles }),
    ...(expiresIn === undefined ? {} : { expires_in: expiresIn as number }),
    ...(claims === undefined ? {} : { claims }),
  };
}

/** `{"user": "alice"}` or `{"app": "nightly-report", "roles": ["Chat.Invoke"]}`, with optional extras. */
export function parseTokenRequest(body: unknown, defaultScope: string): Parsed {
  if (!isRecord(body)) return { problem: 'The body must be a JSON object like {"user":"alice"}' };
  const { user, app } = body;
  const name = user ?? app;
  if (typeof name !== 'string' || !USER.test(name) || (user !== undefined && app !== undefined)) {
    return {
      problem: '"user" is required: a name of 1-64 letters, digits, ".", "_", "-" or "@", e.g. {"user":"alice"}',
    };
  }
  const extras = parseExtras(body);
  if (typeof extras === 'string') return { problem: extras };
  const subject: Subject =
    user !== undefined
      ? { kind: 'user', name, scope: extras.scope ?? defaultScope }
      : { kind: 'app', name, roles: extras.roles ?? [] };
  return { subject, extras };
}

function withOverrides(claims: JWTPayload, overrides: Readonly<Record<string, unknown>> | undefined): JWTPayload {
  const result: Record<string, unknown> = { ...claims };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === null) delete result[name];
    else result[name] = value;
  }
  return result;
}

// The demo page and SPAs on other local ports ask for tokens from the browser: only from allowed origins.
const CORS = {
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type, x-request-id',
  vary: 'Origin',
};

/** Whether `origin` is a page on this machine (http or https on a loopback name, any port). */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    const name = url.hostname;
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (name === 'localhost' || name.endsWith('.localhost') || name === '127.0.0.1' || name === '[::1]')
    );
  } catch {
    return false;
  }
}

/** The CORS headers of an answer to a request from `origin`: the origin echoed only when allowed. */
export function corsHeaders(
  origin: string | undefined,
  allowed: readonly string[] | undefined,
): Record<string, string> {
  const admitted =
    origin !== undefined &&
    (allowed === undefined ? isLoopbackOrigin(origin) : isOriginAllowed(origin, { allowedOrigins: allowed }));
  return admitted ? { ...CORS, 'access-control-allow-origin': origin } : CORS;
}

class IdentityProvider {
  readonly #ring = new KeyRing();
  readonly #counts = { configuration: 0, jwks: 0, token: 0 };
  readonly #options: Required<Omit<IdentityProviderOptions, 'port' | 'host' | 'keyFile' | 'allowedOrigins'>>;
  readonly #keyFile: string | undefined;
  readonly #allowedOrigins: readonly string[] | undefined;
  url = '';

  constructor(options: IdentityProviderOptions) {
    this.#options = {
      tenantId: options.tenantId ?? LOCAL_TENANT_ID,
      audience: options.audience ?? LOCAL_API_CLIENT_ID,
      scope: options.scope ?? 'chat',
      lifetimeSeconds: options.lifetimeSeconds ?? 3600,
      now: options.now ?? Date.now,
    };
    this.#keyFile = options.keyFile;
    this.#allowedOrigins = options.allowedOrigins;
  }

  /** The kept keys when the key file holds usable ones, else a new key (written to the key file, if any). */
  async loadOrMakeKeys(): Promise<void> {
    const kept = this.#keyFile === undefined ? undefined : readKeyFile(this.#keyFile);
    if (kept !== undefined) {
      try {
        await this.#ring.restore(kept);
        return;
      } catch {
        // A damaged or foreign file: start over with a new key, as on the first start.
      }
    }
    await this.rotateKey();
  }

  get issuer(): string {
    return `${this.url}/${this.#options.tenantId}/v2.0`;
  }

  get tenantId(): string {
    return this.#options.tenantId;
  }

  get audience(): string {
    return this.#options.audience;
  }

  async rotateKey(): Promise<string> {
    const kid = await this.#ring.rotate();
    if (this.#keyFile !== undefined) {
      writePrivateFile(this.#keyFile, `${JSON.stringify({ keys: await this.#ring.export() }, null, 2)}\n`);
    }
    return kid;
  }

  stats(): IdentityProviderStats {
    return { ...this.#counts };
  }

  async mint(subject: Subject, extras: TokenRequestExtras): Promise<{ token: string; expiresIn: number }> {
    const lifetimeSeconds = extras.expires_in ?? this.#options.lifetimeSeconds;
    const claims = accessTokenClaims({
      issuer: this.issuer,
      tenantId: this.#options.tenantId,
      audience: this.#options.audience,
      subject,
      now: Math.floor(this.#options.now() / 1000),
      lifetimeSeconds,
    });
    return {
      token: await signAccessToken(this.#ring, withOverrides(claims, extras.claims)),
      expiresIn: lifetimeSeconds,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdFrom({ get: (name) => header(req, name) });
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const headers = {
      ...corsHeaders(header(req, 'origin') ?? undefined, this.#allowedOrigins),
      'x-request-id': requestId,
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, headers).end();
    } else if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      this.#counts.configuration++;
      sendJson(res, 200, this.#configuration(), headers);
    } else if (req.method === 'GET' && path === JWKS_PATH) {
      this.#counts.jwks++;
      sendJson(res, 200, this.#ring.jwks(), { ...headers, 'cache-control': 'no-store' });
    } else if (req.method === 'POST' && path === '/token') {
      this.#counts.token++;
      await this.#token(req, res, headers);
    } else {
      const message = `No route ${req.method ?? ''} ${path}. Routes: GET /.well-known/openid-configuration, GET ${JWKS_PATH}, POST /token.`;
      sendJson(res, 404, errorBody('not_found', message, requestId), headers);
    }
  }

  #configuration(): object {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.url}${JWKS_PATH}`,
      token_endpoint: `${this.url}/token`,
      response_types_supported: ['token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: [this.#options.scope],
      tenant_region_scope: 'local',
    };
  }

  async #token(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    const requestId = headers['x-request-id'] ?? '';
    const text = await readBody(req);
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
      sendJson(
        res,
        413,
        errorBody('payload_too_large', `The body must be under ${MAX_BODY_BYTES} bytes.`, requestId),
        headers,
      );
      return;
    }
    const json = parseJson(text);
    if (json === undefined) {
      sendJson(res, 400, errorBody('invalid_json', 'The body is not JSON. Send {"user":"alice"}.', requestId), headers);
      return;
    }
    const parsed = parseTokenRequest(json.value, this.#options.scope);
    if ('problem' in parsed) {
      sendJson(res, 400, errorBody('invalid_request', parsed.problem, requestId), headers);
      return;
    }
    const { token, expiresIn } = await this.mint(parsed.subject, parsed.extras);
    sendJson(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: expiresIn },
      { ...headers, 'cache-control': 'no-store' },
    );
  }
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function errorBody(code: string, message: string, requestId: string): object {
  return { error: { code, message, requestId } };
}

/** The private JWKs a key file holds, or undefined when it is missing or not such a file. */
function readKeyFile(file: string): JWK[] | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: unknown };
    return Array.isArray(parsed.keys) ? (parsed.keys as JWK[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the provider with a fresh RS256 key, or the keys of `keyFile`. Resolves once it listens. */
export async function startIdentityProvider(options: IdentityProviderOptions = {}): Promise<RunningIdentityProvider> {
  const provider = new IdentityProvider(options);
  await provider.loadOrMakeKeys();
  const server = createServer((req, res) => {
    provider.handle(req, res).catch((error: unknown) => {
      const body = errorBody('internal_error', `The identity provider failed: ${String(error)}`, 'local-identity');
      if (!res.headersSent) sendJson(res, 500, body, corsHeaders(req.headers.origin, options.allowedOrigins));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7083, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  provider.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return running(provider, server, port);
}

function running(provider: IdentityProvider, server: Server, port: number): RunningIdentityProvider {
  return {
    url: provider.url,
    port,
    issuer: provider.issuer,
    tenantId: provider.tenantId,
    audience: provider.audience,
    async token(user, extras = {}) {
      const parsed = parseTokenRequest({ ...extras, user }, 'chat');
      if ('problem' in parsed) throw new Error(parsed.problem);
      return (await provider.mint(parsed.subject, parsed.extras)).token;
    },
    async appToken(app, extras = {}) {
      const parsed = parseTokenRequest({ ...extras, app }, 'chat');
      if ('problem' in parsed) throw new Error(parsed.problem);
      return (await provider.mint(parsed.subject, parsed.extras)).token;
    },
    rotateKey: () => provider.rotateKey(),
    backendSettings: () =>
      Object.freeze({
        CHAT_AUTH_OPENID_CONFIG_URL: `${provider.url}/.well-known/openid-configuration`,
        CHAT_AUTH_TENANT_ID: provider.tenantId,
        // Entra v2 tokens carry the client id; the app id URI is accepted too, as a real API would.
        CHAT_AUTH_AUDIENCE: `${provider.audience},api://${provider.audience}`,
        CHAT_AUTH_ISSUERS: provider.issuer,
      }),
    stats: () => provider.stats(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
