/**
 * One decision per request: who is calling, from the sign-in settings and what the request carries.
 * Order: App Service's principal (only when trusted), then a bearer token, then a verified function key.
 * A bearer token that fails is final: a request never falls back to a weaker proof after a bad one.
 */
import { ChatError } from '../errors';
import { appServicePrincipal } from './app-service';
import type { Caller } from './caller';
import { SERVICE_CALLER } from './caller';
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
}

export type CallerFailure = AuthFailure | 'function-key-refused' | 'function-key-required';

export type CallerCheck =
  | { readonly ok: true; readonly caller: Caller; readonly via: 'token' | 'app-service' | 'function-key' }
  | { readonly ok: false; readonly failure: CallerFailure; readonly error: ChatError };

export interface CallerResolverOptions {
  readonly settings: UserAuthSettings;
  /** Required when `settings.callers` includes `users`. */
  readonly validator?: TokenValidator;
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
  return {
    async resolve(request) {
      if (users && settings.trustAppServicePrincipal && settings.token && request.clientPrincipal) {
        const check = appServicePrincipal(request.clientPrincipal, settings.token);
        return check.ok ? { ok: true, caller: check.caller, via: 'app-service' } : check;
      }
      if (users && validator && request.authorization?.trim()) {
        return fromToken(await validator.validate(request.authorization));
      }
      if (request.functionKeyVerified) {
        if (service) return { ok: true, caller: SERVICE_CALLER, via: 'function-key' };
        return refused(
          'function-key-refused',
          'Sign-in required: this API does not accept function keys. Send "Authorization: Bearer <access token>".',
          'A valid function key was presented, but CHAT_AUTH_CALLERS does not include service.',
        );
      }
      // The validator words the "sign in" answer, so a missing header reads the same on every path.
      if (users && validator) return fromToken(await validator.validate(undefined));
      return refused(
        'function-key-required',
        'A function key is required: send it in the x-functions-key header.',
        'No verified function key; CHAT_AUTH_CALLERS=service accepts nothing else.',
      );
    },
  };
}
