/**
 * How the demo page signs its user in, as `GET /api/web/config.json` tells the page. Derived
 * once from the sign-in settings the app already checks tokens with, so the page asks for the very tokens
 * the app accepts. Nothing in it is secret: a SPA's client id, an authority and a scope are public.
 */
import { ConfigError } from '../config-error';
import { GUID, isLoopbackHost, setting, type Env } from '../settings';
import { chatAccess } from './access';
import type { TokenSettings } from './settings';

/**
 * - `none`: the page offers the function key field only (no users, or no SPA registration to sign in with).
 * - `local`: a "sign in as" box; tokens from the local OpenID Connect provider's `POST /token`.
 * - `msal`: Microsoft Entra ID through MSAL (`loginPopup`, `acquireTokenSilent`) with the SPA's client id.
 */
export type WebSignIn =
  | { readonly kind: 'none' }
  | { readonly kind: 'local'; readonly tokenUrl: string }
  | {
      readonly kind: 'msal';
      readonly clientId: string;
      /** `https://login.microsoftonline.com/<tenant>` */
      readonly authority: string;
      /** The API's delegated scope, e.g. `api://<api-client-id>/chat`. */
      readonly scopes: readonly string[];
    };

const CLIENT_ID_EXAMPLE = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
/** Entra's metadata URL is `<authority>/v2.0/.well-known/openid-configuration`; MSAL wants the authority. */
const ENTRA_METADATA = /^(https:\/\/[^/]+\/[^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const NONE: WebSignIn = Object.freeze({ kind: 'none' });

/**
 * Reads how the page signs in: `local` when the app trusts a provider on loopback (`npm start`'s, whose
 * token endpoint is `/token` beside its metadata), else `msal` when CHAT_WEB_CLIENT_ID names the SPA's app
 * registration, else `none`. Throws {@link ConfigError} for a bad CHAT_WEB_CLIENT_ID or sign-in setting.
 */
export function webSignIn(env: Env): WebSignIn {
  const access = chatAccess(env);
  const token = access.open ? undefined : access.settings.token;
  if (token === undefined) return NONE;
  const local = localTokenUrl(token.openIdConfigUrl);
  if (local !== undefined) return Object.freeze({ kind: 'local', tokenUrl: local });
  const clientId = spaClientId(env);
  if (clientId === undefined) return NONE;
  return Object.freeze({
    kind: 'msal',
    clientId,
    authority: authority(token),
    scopes: Object.freeze([apiScope(token)]),
  });
}

function localTokenUrl(openIdConfigUrl: string): string | undefined {
  const url = new URL(openIdConfigUrl);
  return isLoopbackHost(url) ? `${url.origin}/token` : undefined;
}

function spaClientId(env: Env): string | undefined {
  const raw = setting(env, 'CHAT_WEB_CLIENT_ID');
  if (raw !== undefined && !GUID.test(raw)) {
    throw new ConfigError(
      'CHAT_WEB_CLIENT_ID',
      `must be the demo page's SPA app registration client id, a GUID, got "${raw}"`,
      CLIENT_ID_EXAMPLE,
    );
  }
  return raw?.toLowerCase();
}

/** The authority of the metadata the app trusts (so a sovereign cloud stays itself), else the tenant's. */
function authority(token: TokenSettings): string {
  const fromMetadata = ENTRA_METADATA.exec(token.openIdConfigUrl)?.[1];
  return fromMetadata ?? `https://login.microsoftonline.com/${token.tenantId ?? 'organizations'}`;
}

/** `<app id URI>/<scope>`: the URI from CHAT_AUTH_AUDIENCE, else Entra's default `api://<client id>`. */
function apiScope(token: TokenSettings): string {
  const uri = token.audiences.find((audience) => !GUID.test(audience)) ?? `api://${token.audiences[0] ?? ''}`;
  return `${uri.replace(/\/$/, '')}/${token.requiredScope}`;
}
