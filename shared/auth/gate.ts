/**
 * The chat endpoints' gate: who the caller is, from the request's headers, or a ChatError (401/403/503)
 * that says what to send instead. One per process; handlers ask it first.
 */
import type { HttpRequest } from '@azure/functions';
import type { ChatAccess } from './access';
import type { Caller } from './caller';
import { presentedKeys } from './keys';
import { createCallerResolver, type CallerResolver } from './resolve-caller';
import type { TokenValidator } from './token-validator';

export interface CallerGate {
  /**
   * The caller, or throws the ChatError to answer with (its diagnosis names the failed check, for the log).
   * Undefined when nobody is checked (CHAT_AUTH_LEVEL=anonymous and no user token): such a request is
   * nobody's, so it has no per-user quota and no conversations (they would be shared by everyone behind the
   * gateway), rather than everyone's as the one `service` caller.
   */
  admit(request: HttpRequest): Promise<Caller | undefined>;
}

export interface CallerGateOptions {
  readonly access: ChatAccess;
  /** Required when the access settings allow users. */
  readonly validator?: TokenValidator;
}

export function createCallerGate(options: CallerGateOptions): CallerGate {
  const { access } = options;
  const resolver: CallerResolver = createCallerResolver({
    settings: access.settings,
    serviceKeys: access.serviceKeys,
    ...(options.validator ? { validator: options.validator } : {}),
  });
  return {
    async admit(request) {
      const authorization = request.headers.get('authorization') ?? undefined;
      // Open (a gateway in front checks callers): a user's token is still read when sign-in is set up.
      if (access.open && (!authorization || !access.settings.callers.includes('users'))) return undefined;
      const check = await resolver.resolve({
        ...(authorization ? { authorization } : {}),
        ...clientPrincipal(request),
        // Checked by the Functions host (function-level routes); else the app checks the keys itself.
        functionKeyVerified: access.routeAuthLevel === 'function',
        keys: presentedKeys(request.headers, request.query),
      });
      if (check.ok) return check.caller;
      throw check.error;
    },
  };
}

function clientPrincipal(request: HttpRequest): { clientPrincipal?: string } {
  const header = request.headers.get('x-ms-client-principal');
  return header ? { clientPrincipal: header } : {};
}
