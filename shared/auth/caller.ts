/**
 * Who is calling a chat endpoint, as the rest of the backend sees it: quotas and conversations are
 * keyed by `id`. A user and a daemon app are told apart because only a user has a person's name and
 * only an app needs an app role; both come from a validated Entra ID access token (or App Service's
 * principal), so `id` is `${tid}:${oid}`, unique across tenants.
 */

/** A person signed in through an app (delegated token with the required scope). */
export interface UserCaller {
  readonly kind: 'user';
  /** `${tid}:${oid}` of the token. */
  readonly id: string;
  /** `name`, else `preferred_username`, when the token has one (display only, never a key). */
  readonly name?: string;
}

/** A daemon app calling with its own identity (app-only token with the required app role). */
export interface AppCaller {
  readonly kind: 'app';
  /** `${tid}:${oid}` of the app's service principal. */
  readonly id: string;
  /** The calling app's client id (`azp`), when the token has it. */
  readonly appId?: string;
}

/** A server-to-server caller with a function key: all of them act as one caller named `service`. */
export interface ServiceCaller {
  readonly kind: 'service';
  readonly id: 'service';
}

export type Caller = UserCaller | AppCaller | ServiceCaller;

/** The one `service` caller. */
export const SERVICE_CALLER: ServiceCaller = Object.freeze({ kind: 'service', id: 'service' });

/** The stable id of a signed-in principal; tenant first, so the same object id in two tenants stays two callers. */
export function principalId(tenantId: string, objectId: string): string {
  return `${tenantId.toLowerCase()}:${objectId.toLowerCase()}`;
}
