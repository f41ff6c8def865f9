/**
 * App Service built-in authentication ("Easy Auth"), when it fronts the app, validates the token itself and
 * passes the principal on in `x-ms-client-principal` (base64 JSON). Believe it only when the platform says
 * authentication is on ({@link UserAuthSettings.trustAppServicePrincipal}): otherwise any caller can send
 * the header and be whoever it likes. Easy Auth checks issuer and audience, not scopes, so the required
 * scope or app role is still checked here.
 */
import { ChatError } from '../errors';
import type { AppCaller, UserCaller } from './caller';
import { principalId } from './caller';
import type { TokenSettings } from './settings';
import { isPrincipalPart } from './token-validator';

/** Claim types as Easy Auth writes them: the token's short names, or the long WS-Federation URIs. */
const CLAIM_NAMES = {
  oid: ['oid', 'http://schemas.microsoft.com/identity/claims/objectidentifier'],
  tid: ['tid', 'http://schemas.microsoft.com/identity/claims/tenantid'],
  scp: ['scp', 'http://schemas.microsoft.com/identity/claims/scope'],
  roles: ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'],
  name: ['name'],
  username: ['preferred_username'],
} as const;

interface ClientPrincipal {
  readonly auth_typ?: string;
  readonly role_typ?: string;
  readonly claims: readonly { readonly typ: string; readonly val: string }[];
}

export type PrincipalCheck =
  | { readonly ok: true; readonly caller: UserCaller | AppCaller }
  | { readonly ok: false; readonly failure: PrincipalFailure; readonly error: ChatError };

type PrincipalFailure = 'malformed' | 'identity' | 'permission' | 'audience' | 'issuer';

function decode(header: string): ClientPrincipal | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    const claims = (value as { claims?: unknown }).claims;
    if (!Array.isArray(claims)) return undefined;
    const valid = claims.filter(
      (c): c is { typ: string; val: string } =>
        typeof (c as { typ?: unknown }).typ === 'string' && typeof (c as { val?: unknown }).val === 'string',
    );
    return { ...(value as object), claims: valid };
  } catch {
    return undefined;
  }
}

function values(principal: ClientPrincipal, names: readonly string[]): string[] {
  return principal.claims.filter((c) => names.includes(c.typ)).map((c) => c.val);
}

function refuse(failure: PrincipalFailure, message: string, diagnosis: string): PrincipalCheck {
  return {
    ok: false,
    failure,
    error: new ChatError(failure === 'permission' ? 'forbidden' : 'unauthorized', { message, diagnosis }),
  };
}

/**
 * The caller App Service authentication vouches for. Call only when the principal is trusted; the
 * header value is the raw `x-ms-client-principal` (base64 JSON with `claims: [{typ, val}]`).
 */
export function appServicePrincipal(header: string, settings: TokenSettings): PrincipalCheck {
  const principal = decode(header);
  if (principal === undefined) {
    return refuse(
      'malformed',
      'Sign-in could not be read. Sign in again.',
      'x-ms-client-principal is not base64 JSON with a claims array.',
    );
  }
  const [oid] = values(principal, CLAIM_NAMES.oid);
  const [tid] = values(principal, CLAIM_NAMES.tid);
  if (!isPrincipalPart(oid) || !isPrincipalPart(tid)) {
    return refuse(
      'identity',
      'Sign in with a Microsoft Entra ID account.',
      `x-ms-client-principal (${principal.auth_typ ?? 'unknown provider'}) has no valid oid/tid claim: only the Microsoft provider is supported.`,
    );
  }
  const foreign = foreignPrincipal(principal, tid, settings);
  if (foreign) return foreign;
  const scp = values(principal, CLAIM_NAMES.scp);
  const scopes = scp.flatMap((s) => s.split(' '));
  const roles = values(principal, [...CLAIM_NAMES.roles, ...(principal.role_typ ? [principal.role_typ] : [])]);
  const id = principalId(tid, oid);
  const [name] = [...values(principal, CLAIM_NAMES.name), ...values(principal, CLAIM_NAMES.username)];
  const caller: UserCaller | AppCaller =
    scp.length > 0 ? { kind: 'user', id, ...(name === undefined ? {} : { name }) } : { kind: 'app', id };
  const role = settings.requiredRole;
  if (scopes.includes(settings.requiredScope) || (role !== undefined && roles.includes(role)))
    return { ok: true, caller };
  return refuse(
    'permission',
    "The sign-in lacks the permission this API requires. Request the API's delegated scope, or for a daemon app have an administrator grant its app role.",
    `x-ms-client-principal of ${id} has scp "${scopes.join(' ')}", roles [${roles.join(', ')}]; it needs scope "${settings.requiredScope}" (CHAT_AUTH_REQUIRED_SCOPE)${role === undefined ? '' : ` or app role "${role}" (CHAT_AUTH_REQUIRED_ROLE)`}.`,
  );
}

/**
 * App Service accepts whatever its own configuration allows (another tenant, another audience); the app
 * holds the principal to the same tenant, issuer and audience as a bearer token. The caller is told only
 * to sign in to this app; the log says which claim did not match.
 */
function foreignPrincipal(
  principal: ClientPrincipal,
  tid: string,
  settings: TokenSettings,
): PrincipalCheck | undefined {
  const [aud] = values(principal, ['aud']);
  const [iss] = values(principal, ['iss']);
  const message = 'This sign-in is for another application or directory. Sign in to this app again.';
  if (aud !== undefined && !settings.audiences.includes(aud)) {
    return refuse('audience', message, `x-ms-client-principal aud "${aud}" is not in CHAT_AUTH_AUDIENCE.`);
  }
  if (settings.tenantId !== undefined && tid.toLowerCase() !== settings.tenantId) {
    return refuse('issuer', message, `x-ms-client-principal tid "${tid}" is not CHAT_AUTH_TENANT_ID.`);
  }
  if (iss !== undefined && !settings.issuers.includes(iss)) {
    return refuse('issuer', message, `x-ms-client-principal iss "${iss}" is not in CHAT_AUTH_ISSUERS.`);
  }
  return undefined;
}
