/**
 * One decision per request: who is calling, from the sign-in settings and what the request carries.
 * Order: App Service's principal (only when trusted), then a bearer token (a JWT), then a key: one
 * verified by the host, or one of the keys the request carries (`x-functions-key`, `?code=`, `api-key`,
 * or a bearer that is not a JWT, where OpenAI SDKs send their apiKey), checked against CHAT_SERVICE_KEYS.
 * A bearer token that fails is final: a request never falls back to a weaker proof after a bad one.
 */
import { ChatError } from '../errors';
import { appServicePrincipal } from './app-service';
import type { Caller } from './caller';
import { SERVICE_CALLER } from './caller';
import {
  authorizationCredential,
  sameKey,
  type AuthorizationCredential,
  type KeyPlace,
  type PresentedKey,
} from './keys';
import type { UserAuthSettings } from './settings';
import type { AuthFailure, TokenCheck, TokenValidator } from './token-validator';

/** What the handler read from the request. */
export interface CallerRequest {
  /** The `Authorization` header, if any. */
  readonly authorization?: string;
  /** The `x-ms-client-principal` header, if any (ignored unless trusted). */
  readonly clientPrincipal?: string;
  /**
   * True when the request carried a function key that was checked: by the Functions host for an
   * `authLevel: 'function'` route, or by the local host. Never true just because a key header exists.
   */
  readonly functionKeyVerified: boolean;
  /** Keys the request carries outside `Authorization` (x-functions-key, ?code=, api-key), for the app to check. */
  readonly keys?: readonly PresentedKey[];
}

export type CallerFailure = AuthFailure | 'function-key-refused' | 'function-key-required' | 'key-rejected';

export type CallerCheck =
  | { readonly ok: true; readonly caller: Caller; readonly via: 'token' | 'app-service' | 'function-key' }
  | { readonly ok: false; readonly failure: CallerFailure; readonly error: ChatError };

export interface CallerResolverOptions {
  readonly settings: UserAuthSettings;
  /** Required when `settings.callers` includes `users`. */
  readonly validator?: TokenValidator;
  /** The keys the app itself accepts from service callers (CHAT_SERVICE_KEYS); default none. */
  readonly serviceKeys?: readonly string[];
}

export interface CallerResolver {
  resolve(request: CallerRequest): Promise<CallerCheck>;
}

function refused(failure: CallerFailure, message: string, diagnosis: string): CallerCheck {
  return { ok: false, failure, error: new ChatError('unauthorized', { message, diagnosis }) };
}

function fromToken(check: TokenCheck): CallerCheck {
  return check.ok ? { ok: true, caller: check.caller, via: 'token' } : check;
}

/** Builds the resolver; throws at start-up when users are allowed but no validator is given. */
export function createCallerResolver(options: CallerResolverOptions): CallerResolver {
  const { settings, validator } = options;
  const users = settings.callers.includes('users');
  const service = settings.callers.includes('service');
  if (users && (validator === undefined || settings.token === undefined)) {
    throw new Error('createCallerResolver: CHAT_AUTH_CALLERS allows users, so a token validator is required');
  }
  const serviceKeys = options.serviceKeys ?? [];
  return {
    async resolve(request) {
      if (users && settings.trustAppServicePrincipal && settings.token && request.clientPrincipal) {
        const check = appServicePrincipal(request.clientPrincipal, settings.token);
        return check.ok ? { ok: true, caller: check.caller, via: 'app-service' } : check;
      }
      const authorization = authorizationCredential(request.authorization);
      // Without service callers a bearer is only ever a token: the validator says what is wrong with it.
      if (users && validator && (authorization.kind === 'token' || (!service && authorization.kind !== 'none'))) {
        return fromToken(await validator.validate(request.authorization));
      }
      const keys = [
        ...(request.keys ?? []),
        ...(authorization.kind === 'key' ? [{ place: 'authorization' as const, key: authorization.key }] : []),
      ];
      const keyHolder = request.functionKeyVerified || keys.some((k) => serviceKeys.some((s) => sameKey(k.key, s)));
      if (keyHolder) {
        if (service) return { ok: true, caller: SERVICE_CALLER, via: 'function-key' };
        return refused(
          'function-key-refused',
          'Sign-in required: this API does not accept keys. Send "Authorization: Bearer <access token>".',
          'A valid key was presented, but CHAT_AUTH_CALLERS does not include service.',
        );
      }
      if (keys.length > 0)
        return wrongKey(
          keys.map((k) => k.place),
          users,
        );
      if (users && service && authorization.kind === 'none') return nothingPresented();
      // Another scheme or a malformed header: the validator words what is wrong with it.
      if (users && validator) return fromToken(await validator.validate(request.authorization));
      return noKey(authorization.kind);
    },
  };
}

/** How a 401 names where a key came from (the place, never the key). */
const PLACE_NAMES: Readonly<Record<KeyPlace, string>> = {
  'x-functions-key': 'the x-functions-key header',
  code: 'the code query parameter',
  'api-key': 'the api-key header',
  authorization: 'the Authorization header (Bearer)',
};

/** Every presented key was wrong: say where they came from, never what they were. */
function wrongKey(places: readonly KeyPlace[], users: boolean): CallerCheck {
  const where = [...new Set(places)].map((p) => PLACE_NAMES[p]).join(' and ');
  const bearerOnly = places.length === 1 && places[0] === 'authorization';
  return refused(
    'key-rejected',
    bearerOnly && users
      ? 'Wrong key: the Authorization header (Bearer) holds neither an access token (a JWT) nor a valid key for this API.'
      : `Wrong key: the key in ${where} is not valid for this API.`,
    `Key in ${places.join(', ')} matches none of CHAT_SERVICE_KEYS.`,
  );
}

/** Neither a token nor a key, where both are accepted. */
function nothingPresented(): CallerCheck {
  return refused(
    'missing',
    'No credentials: send a signed-in user\'s access token as "Authorization: Bearer <token>", or a key as "Authorization: Bearer <key>" (an OpenAI SDK\'s apiKey) or in the x-functions-key or api-key header.',
    'No Authorization header and no key.',
  );
}

/** Nothing the service-only API accepts: say what was found instead, if anything. */
function noKey(found: AuthorizationCredential['kind']): CallerCheck {
  const instead =
    found === 'token'
      ? ' An access token was sent, but this API takes keys only (CHAT_AUTH_CALLERS=service).'
      : found === 'other'
        ? ' The Authorization header is not "Bearer <key>".'
        : '';
  return refused(
    'function-key-required',
    `A key is required: send it as "Authorization: Bearer <key>" (an OpenAI SDK's apiKey), or in the x-functions-key or api-key header.${instead}`,
    `No key; CHAT_AUTH_CALLERS=service accepts nothing else.`,
  );
}
