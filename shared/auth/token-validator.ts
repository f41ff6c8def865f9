/**
 * Validates Microsoft Entra ID v2 access tokens (`Authorization: Bearer ...`) in the backend itself, so
 * sign-in works on every plan: RS256 signature against the issuer's JWKS, `iss`, `aud`, `exp`/`nbf` with
 * clock skew, then the required scope (`scp`) or app role (`roles`). All cryptography is jose's.
 *
 * Responses never name the expected audience or tenant (an anonymous caller could probe for them); the
 * ChatError's `diagnosis`, for the operator's log, names the claim that failed and the setting to check.
 */
import type { JWTPayload } from 'jose';
import type { errors } from 'jose';
import { isJoseError, jose } from './jose';
import { ChatError } from '../errors';
import type { AppCaller, UserCaller } from './caller';
import { principalId } from './caller';
import { GUID } from '../settings';
import type { TokenSettings } from './settings';
import { SigningKeys, SigningKeysUnavailableError, UnknownSigningKeyError } from './signing-keys';

export interface TokenValidatorOptions {
  /** What a token must carry (from {@link parseUserAuthSettings}). */
  readonly token: TokenSettings;
  /** Injected for tests; default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Clock in ms since the epoch, for `exp`/`nbf` and the JWKS refetch interval; default `Date.now`. */
  readonly now?: () => number;
  /** Leeway on `exp` and `nbf`, seconds. Default 300 (5 minutes, Entra's usual). */
  readonly clockSkewSeconds?: number;
  /** Least time between two JWKS fetches, ms. Default 60 000. */
  readonly minRefetchIntervalMs?: number;
  /** Time limit of one fetch of the OpenID configuration or JWKS, ms. Default 5 000. */
  readonly fetchTimeoutMs?: number;
}

/** Which check refused the request (stable, for logs and tests). */
export type AuthFailure =
  | 'missing'
  | 'scheme'
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown-key'
  | 'expired'
  | 'not-yet-valid'
  | 'lifetime'
  | 'issuer'
  | 'audience'
  | 'identity'
  | 'permission'
  | 'keys-unavailable';

/** The claims of an accepted token this backend reads (others pass through untyped). */
export interface AccessTokenClaims extends JWTPayload {
  readonly oid: string;
  readonly tid: string;
  readonly scp?: string;
  readonly roles?: readonly string[];
  readonly name?: string;
  readonly preferred_username?: string;
  readonly azp?: string;
}

export type TokenCheck =
  | {
      readonly ok: true;
      readonly caller: UserCaller | AppCaller;
      readonly claims: AccessTokenClaims;
      /** Whether the required scope (delegated) or app role (app-only or assigned) let the caller in. */
      readonly grantedBy: 'scope' | 'role';
    }
  | { readonly ok: false; readonly failure: AuthFailure; readonly error: ChatError };

export interface TokenValidator {
  /** Checks an `Authorization` header value; never throws for a bad token, it returns `ok: false`. */
  validate(authorization: string | undefined): Promise<TokenCheck>;
}

/** Microsoft Graph's resource id: the most common wrong-audience token a SPA sends. */
const GRAPH_AUDIENCES = ['00000003-0000-0000-c000-000000000000', 'https://graph.microsoft.com'];

/** What the front-end developer reads: what to do, never which audience or tenant is expected. */
const MESSAGES: Readonly<Record<AuthFailure, string>> = {
  missing: 'Sign-in required: send the access token in an "Authorization: Bearer <token>" header.',
  scheme: 'Unsupported authorization scheme: send "Authorization: Bearer <access token>".',
  malformed:
    'The bearer token is not a JWT access token. Send the access token MSAL acquired for this API (not the ID token), as "Authorization: Bearer <token>".',
  algorithm:
    'The access token is not signed with an accepted algorithm. Acquire a token from Microsoft Entra ID for this API.',
  signature:
    "The access token signature could not be verified. Acquire a new token from Microsoft Entra ID with this API's scope (api://<client-id>/<scope>).",
  'unknown-key':
    'The access token was signed with an unknown key. Acquire a new token from Microsoft Entra ID and retry.',
  expired: 'The access token has expired. Acquire a new one (MSAL acquireTokenSilent) and retry.',
  'not-yet-valid': 'The access token is not valid yet. Check the device clock, then retry.',
  lifetime:
    'The access token is valid for longer than this API accepts. Acquire a token from Microsoft Entra ID for this API.',
  issuer:
    'The access token was issued by a tenant or authority this API does not accept. Sign in with an account of the organisation that runs this API.',
  audience:
    "The access token is for a different API. Request a token with this API's scope (api://<client-id>/<scope>) and send the access token, not the ID token.",
  identity:
    'The access token does not identify a user or app (no valid oid or tid claim). Use a Microsoft Entra ID v2 access token.',
  permission:
    "The access token lacks the permission this API requires. Request the API's delegated scope, or for a daemon app have an administrator grant its app role.",
  'keys-unavailable': 'Sign-in cannot be checked right now. Retry in a minute.',
};

function failure(kind: AuthFailure, diagnosis: string, cause?: unknown): TokenCheck {
  const code = kind === 'permission' ? 'forbidden' : kind === 'keys-unavailable' ? 'auth_unavailable' : 'unauthorized';
  const retry = kind === 'keys-unavailable' ? { retryAfterMs: 60_000 } : {};
  return {
    ok: false,
    failure: kind,
    error: new ChatError(code, { message: MESSAGES[kind], diagnosis, cause, ...retry }),
  };
}

/** The token of a `Bearer` header, or the failure when the header is absent or not `Bearer <jwt>`. */
export function bearerToken(authorization: string | undefined): { token: string } | { failure: TokenCheck } {
  const value = authorization?.trim() ?? '';
  if (value === '') return { failure: failure('missing', 'No Authorization header.') };
  const [scheme, token, ...rest] = value.split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer') {
    return { failure: failure('scheme', `Authorization ${schemeOf(value)} is not Bearer.`) };
  }
  if (token === undefined || rest.length > 0) {
    return {
      failure: failure('malformed', 'Authorization header is not "Bearer <token>" (no token, or spaces in it).'),
    };
  }
  // A JWS in compact form: three base64url parts. Five parts would be an encrypted token (JWE).
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    return {
      failure: failure(
        'malformed',
        `Bearer token is not a compact JWS (${token.split('.').length} dot-separated parts).`,
      ),
    };
  }
  return { token };
}

/**
 * HTTP authentication schemes a client may send by mistake (IANA's registry,
 * https://www.iana.org/assignments/http-authschemes/): only these are named in a diagnosis. Anything else in the
 * scheme's place may be the credential itself (`Authorization: <token>` without a scheme), so it is not repeated.
 */
const KNOWN_SCHEMES: ReadonlySet<string> = new Set([
  ...['basic', 'digest', 'dpop', 'hoba', 'mutual', 'negotiate', 'ntlm', 'oauth', 'privatetoken', 'vapid'],
  ...['scram-sha-1', 'scram-sha-256', 'aws4-hmac-sha256', 'concealed'],
]);

/** The scheme of an Authorization value as a diagnosis may name it, never the value's own text otherwise. */
export function schemeOf(authorization: string): string {
  const parts = authorization.trim().split(/\s+/);
  const scheme = parts[0] ?? '';
  if (KNOWN_SCHEMES.has(scheme.toLowerCase())) return `scheme "${scheme}"`;
  return parts.length === 1
    ? `header has no scheme (a bare value of ${scheme.length} characters, not repeated here)`
    : `scheme is not a known one (${scheme.length} characters, not repeated here)`;
}

/** Builds the validator; the OpenID configuration and JWKS are fetched on first use and cached. */
export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const now = options.now ?? Date.now;
  const keys = new SigningKeys({
    openIdConfigUrl: options.token.openIdConfigUrl,
    now,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.minRefetchIntervalMs === undefined ? {} : { minRefetchIntervalMs: options.minRefetchIntervalMs }),
    ...(options.fetchTimeoutMs === undefined ? {} : { timeoutMs: options.fetchTimeoutMs }),
  });
  const settings = options.token;
  const skew = options.clockSkewSeconds ?? 300;
  const accepted = new AcceptedTokens();
  return {
    async validate(authorization) {
      const bearer = bearerToken(authorization);
      if ('failure' in bearer) return bearer.failure;
      const known = accepted.get(bearer.token, now());
      if (known !== undefined) return known;
      let payload: JWTPayload;
      try {
        const { jwtVerify } = await jose();
        ({ payload } = await jwtVerify(bearer.token, keys.getKey, {
          algorithms: ['RS256'],
          issuer: [...settings.issuers],
          audience: [...settings.audiences],
          clockTolerance: skew,
          currentDate: new Date(now()),
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        return fromVerifyError(error, { skew, now: now() });
      }
      const check = authorize(payload, settings, { nowSeconds: now() / 1000, skew });
      if (check.ok && typeof payload.exp === 'number')
        accepted.set(bearer.token, check, (payload.exp + skew) * 1000, now());
      return check;
    },
  };
}

/** Most tokens {@link AcceptedTokens} keeps (about 1.5 KB each). */
const ACCEPTED_TOKENS_MAX = 1_000;
/** Longest an accepted token is believed without checking its signature again, ms: a removed signing key stops counting by then. */
const ACCEPTED_TOKENS_TTL_MS = 10 * 60_000;

/**
 * Tokens that passed every check lately, so the same token on the next request costs a map lookup instead of an
 * RSA signature check (the most expensive step of admitting a request: a flood of requests with one user's
 * token would otherwise cost a verification each). Kept until the token expires (with the clock skew jose
 * allows) and at most {@link ACCEPTED_TOKENS_TTL_MS}; the oldest entry goes first when full. Only accepted tokens
 * are kept: a refusal is always checked afresh, so a new signing key is fetched when one appears.
 */
class AcceptedTokens {
  readonly #entries = new Map<string, { readonly check: TokenCheck; readonly untilMs: number }>();

  get(token: string, nowMs: number): TokenCheck | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (nowMs < entry.untilMs) return entry.check;
    this.#entries.delete(token);
    return undefined;
  }

  set(token: string, check: TokenCheck, expiresAtMs: number, nowMs: number): void {
    this.#entries.set(token, { check, untilMs: Math.min(expiresAtMs, nowMs + ACCEPTED_TOKENS_TTL_MS) });
    if (this.#entries.size > ACCEPTED_TOKENS_MAX) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }
}

function fromVerifyError(error: unknown, ctx: { readonly skew: number; readonly now: number }): TokenCheck {
  if (error instanceof SigningKeysUnavailableError) {
    return failure(
      'keys-unavailable',
      `${error.message}. Check CHAT_AUTH_OPENID_CONFIG_URL and outbound network access.`,
      error,
    );
  }
  if (error instanceof UnknownSigningKeyError) {
    const why = error.refetched
      ? 'after refetching the JWKS'
      : 'and the JWKS was fetched under a minute ago, so not again';
    return failure(
      'unknown-key',
      `Header kid "${error.kid ?? '(none)'}" is not in the issuer's JWKS ${why}: forged, or from another issuer.`,
      error,
    );
  }
  if (isJoseError(error, 'ERR_JOSE_ALG_NOT_ALLOWED')) {
    return failure('algorithm', 'Header alg is not RS256 (alg "none" and HMAC algorithms are refused).', error);
  }
  if (isJoseError(error, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')) {
    return failure(
      'signature',
      "Signature does not verify with the issuer's key for this kid: forged or altered token.",
      error,
    );
  }
  if (isJoseError(error, 'ERR_JWT_EXPIRED')) {
    const expired = error as errors.JWTExpired;
    return failure(
      'expired',
      `exp claim ${when(expired.payload.exp)} is past (now ${iso(ctx.now)}, clock skew ${ctx.skew} s).`,
      error,
    );
  }
  if (isJoseError(error, 'ERR_JWT_CLAIM_VALIDATION_FAILED')) {
    return fromClaimError(error as errors.JWTClaimValidationFailed, ctx);
  }
  if (isJoseError(error)) {
    return failure('malformed', `Token rejected by jose: ${error.code} ${error.message}.`, error);
  }
  return failure('malformed', `Unexpected error while checking the token: ${String(error)}`, error);
}

function fromClaimError(
  error: InstanceType<typeof errors.JWTClaimValidationFailed>,
  ctx: { readonly skew: number; readonly now: number },
): TokenCheck {
  const payload = error.payload;
  switch (error.claim) {
    case 'nbf':
      return failure(
        'not-yet-valid',
        `nbf claim ${when(payload.nbf)} is in the future (now ${iso(ctx.now)}, clock skew ${ctx.skew} s).`,
        error,
      );
    case 'iss': {
      const v1 =
        payload.ver === '1.0'
          ? ' It is a v1.0 token: set "accessTokenAcceptedVersion": 2 in the API app registration\'s manifest.'
          : '';
      return failure(
        'issuer',
        `iss claim "${String(payload.iss)}" is not an accepted issuer (CHAT_AUTH_ISSUERS, default the v2 issuer of CHAT_AUTH_TENANT_ID).${v1}`,
        error,
      );
    }
    case 'aud': {
      const aud = Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)];
      const graph = aud.some((a) => GRAPH_AUDIENCES.includes(a))
        ? " It is a Microsoft Graph token: the app asked for Graph scopes instead of this API's."
        : '';
      return failure('audience', `aud claim "${aud.join(', ')}" is not one of CHAT_AUTH_AUDIENCE.${graph}`, error);
    }
    default:
      return failure('malformed', `Claim ${error.claim} failed (${error.reason}): ${error.message}.`, error);
  }
}

/** After the signature and claims verify: who it is, and whether the scope or app role lets them in. */
function authorize(
  payload: JWTPayload,
  settings: TokenSettings,
  clock: { readonly nowSeconds: number; readonly skew: number },
): TokenCheck {
  const { oid, tid } = payload;
  if (!isPrincipalPart(oid) || !isPrincipalPart(tid)) {
    return failure(
      'identity',
      `Token has no valid oid or tid claim (each 1 to 64 letters, digits, ".", "_" or "-"; got ${describeClaim(oid)} and ${describeClaim(tid)}): not an Entra ID v2 access token for a user or app.`,
    );
  }
  const tenant = issuerTenant(payload.iss);
  if (tenant !== undefined && tenant !== tid.toLowerCase()) {
    return failure(
      'issuer',
      `tid claim "${tid}" is not the tenant of the issuer "${String(payload.iss)}": a token is only accepted for the tenant that issued it.`,
    );
  }
  const lifetime = lifetimeProblem(payload, settings.maxLifetimeSeconds, clock);
  if (lifetime !== undefined) return failure('lifetime', lifetime);
  const claims = payload as AccessTokenClaims;
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r) => typeof r === 'string') : [];
  const id = principalId(tid, oid);
  const app = isAppOnly(claims);
  const caller = app ? appCaller(id, claims) : userCaller(id, claims);
  // An app acts for nobody: a delegated scope it carries (however it got one) grants it nothing.
  if (!app && scopes.includes(settings.requiredScope)) return { ok: true, caller, claims, grantedBy: 'scope' };
  if (settings.requiredRole !== undefined && roles.includes(settings.requiredRole)) {
    return { ok: true, caller, claims, grantedBy: 'role' };
  }
  const has = `${app ? 'an app-only token' : 'a delegated token'} with scp "${claims.scp ?? ''}", roles [${roles.join(', ')}]`;
  const needs = app
    ? `app role ${settings.requiredRole === undefined ? '(none is accepted: CHAT_AUTH_REQUIRED_ROLE is not set)' : `"${settings.requiredRole}" (CHAT_AUTH_REQUIRED_ROLE)`}`
    : `scope "${settings.requiredScope}" (CHAT_AUTH_REQUIRED_SCOPE)${settings.requiredRole === undefined ? '; no app role is accepted (CHAT_AUTH_REQUIRED_ROLE is not set)' : ` or app role "${settings.requiredRole}" (CHAT_AUTH_REQUIRED_ROLE)`}`;
  return failure('permission', `Token of ${id} is ${has}; it needs ${needs}.`);
}

/**
 * Whether a token is app-only (a daemon calling as itself). Entra's app-only tokens carry `roles` and no `scp`;
 * with the optional claim `idtyp` they say so (`idtyp: app`), which wins over an `scp` that should not be there.
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
 */
export function isAppOnly(claims: { readonly scp?: unknown; readonly idtyp?: unknown }): boolean {
  return claims.idtyp === 'app' || typeof claims.scp !== 'string';
}

/** An `oid` or `tid` as Entra writes them (GUIDs), with room for other issuers: short, and nothing but an id. */
export function isPrincipalPart(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value);
}

function describeClaim(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'none' : typeof value;
  return `${value.length} characters`;
}

/**
 * The tenant an issuer names: the GUID in its path, as every Entra issuer has it (`login.microsoftonline.com/{tid}/v2.0`,
 * `sts.windows.net/{tid}/`, `{name}.ciamlogin.com/{tid}/v2.0`); undefined when it names none.
 */
export function issuerTenant(iss: unknown): string | undefined {
  if (typeof iss !== 'string') return undefined;
  let path: string;
  try {
    path = new URL(iss).pathname;
  } catch {
    return undefined;
  }
  return path
    .split('/')
    .find((segment) => GUID.test(segment))
    ?.toLowerCase();
}

/**
 * Why a token lives too long, or undefined: its `exp` more than `maxSeconds` (plus the clock skew) after its
 * `iat`, or after now. Entra's access tokens live 60 to 90 minutes, at most a day with a lifetime policy; one
 * valid for years is a signing key misused, or a token minted to be kept.
 */
export function lifetimeProblem(
  claims: { readonly exp?: unknown; readonly iat?: unknown },
  maxSeconds: number,
  clock: { readonly nowSeconds: number; readonly skew: number },
): string | undefined {
  if (typeof claims.exp !== 'number') return undefined;
  const limit = maxSeconds + clock.skew;
  const setting = `CHAT_AUTH_MAX_TOKEN_LIFETIME_SECONDS=${maxSeconds}`;
  if (typeof claims.iat === 'number' && claims.exp - claims.iat > limit) {
    return `Token lives ${Math.round(claims.exp - claims.iat)} s from iat to exp, more than ${setting} (plus ${clock.skew} s clock skew).`;
  }
  if (claims.exp - clock.nowSeconds > limit) {
    return `Token expires in ${Math.round(claims.exp - clock.nowSeconds)} s, more than ${setting} (plus ${clock.skew} s clock skew).`;
  }
  return undefined;
}

function userCaller(id: string, claims: AccessTokenClaims): UserCaller {
  const name = claims.name ?? claims.preferred_username;
  return typeof name === 'string' && name !== '' ? { kind: 'user', id, name } : { kind: 'user', id };
}

function appCaller(id: string, claims: AccessTokenClaims): AppCaller {
  return typeof claims.azp === 'string' ? { kind: 'app', id, appId: claims.azp } : { kind: 'app', id };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function when(seconds: unknown): string {
  return typeof seconds === 'number' ? `${seconds} (${iso(seconds * 1000)})` : String(seconds);
}

/**
 * The `WWW-Authenticate` value for a refused request (RFC 6750 section 3), without realm or audience:
 * `Bearer` when no token came, `error="insufficient_scope"` on 403, `error="invalid_token"` otherwise.
 */
export function wwwAuthenticate(kind: AuthFailure): string {
  if (kind === 'missing') return 'Bearer';
  if (kind === 'scheme' || kind === 'malformed') return 'Bearer error="invalid_request"';
  if (kind === 'permission') return 'Bearer error="insufficient_scope"';
  return 'Bearer error="invalid_token"';
}
