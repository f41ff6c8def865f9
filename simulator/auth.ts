import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorAnswer } from './responses';
import { authenticationTypeDisabled, invalidApiKey, permissionDenied, tokenInvalid } from './responses';
import type { BearerMode } from './types';

/** Principal reported for a token that carries no `oid` claim (an opaque token listed in acceptedBearerTokens). */
export const FALLBACK_PRINCIPAL_ID = '7d3f5c1e-2b4a-4e8f-9c6d-0a1b2c3d4e5f';

/** The resource's auth settings. */
export interface AuthConfig {
  readonly apiKey: string;
  readonly bearer: BearerMode;
  readonly acceptedBearerTokens: readonly string[] | undefined;
  readonly localAuthDisabled: boolean;
}

/** What the caller wants to do, for the PermissionDenied message. */
export interface Operation {
  /** RBAC data action, e.g. `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action`. */
  readonly dataAction: string;
  /** e.g. `POST /openai/deployments/{deployment-id}/chat/completions`. */
  readonly operation: string;
  /** The v1 surface accepts an API key as `Authorization: Bearer <key>` (the plain OpenAI client sends it so). */
  readonly keyAsBearer: boolean;
}

/**
 * Checks credentials the way Azure does; undefined means allowed.
 * A bearer value is an Entra token when it is JWT-shaped or listed in `acceptedBearerTokens`; on the v1
 * route any other bearer value is taken as an API key, on the classic route it is an invalid token.
 */
export function authenticate(headers: IncomingHttpHeaders, config: AuthConfig, op: Operation): ErrorAnswer | undefined {
  const apiKey = headers['api-key'];
  if (typeof apiKey === 'string') return checkKey(apiKey, config);
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  const bearer = match?.[1]?.trim();
  if (bearer === undefined) return invalidApiKey();
  const listed = config.acceptedBearerTokens?.includes(bearer) ?? false;
  if (!listed && !isJwt(bearer)) {
    if (op.keyAsBearer) return checkKey(bearer, config);
    return tokenInvalid();
  }
  if (config.acceptedBearerTokens !== undefined && !listed) return tokenInvalid();
  if (config.bearer === 'no-role') return permissionDenied(principalId(bearer), op.dataAction, op.operation);
  return undefined;
}

function checkKey(key: string, config: AuthConfig): ErrorAnswer | undefined {
  if (key !== config.apiKey) return invalidApiKey();
  return config.localAuthDisabled ? authenticationTypeDisabled() : undefined;
}

function isJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/** The token's `oid` claim if it is a JWT carrying one, else {@link FALLBACK_PRINCIPAL_ID}. */
export function principalId(token: string): string {
  const payload = token.split('.')[1];
  if (payload === undefined) return FALLBACK_PRINCIPAL_ID;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims === 'object' && claims !== null && 'oid' in claims && typeof claims.oid === 'string') {
      return claims.oid;
    }
  } catch {
    // Not JSON: an opaque token has no principal we can read.
  }
  return FALLBACK_PRINCIPAL_ID;
}

/**
 * An unsigned JWT-shaped token with the given claims, for tests that need an "Entra token" the simulator
 * recognises (it never checks signatures). Default claims: audience cognitiveservices, a fixed `oid`.
 */
export function fakeEntraToken(claims: Readonly<Record<string, unknown>> = {}): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = { aud: 'https://cognitiveservices.azure.com', oid: FALLBACK_PRINCIPAL_ID, ...claims };
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(body)}.`;
}
