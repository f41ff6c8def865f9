/**
 * Who may call the chat endpoints, and who checks: the settings that decide it, read once.
 *
 * - `CHAT_AUTH_LEVEL=anonymous`: nobody checks (API Management or App Service authentication in front).
 * - Callers include `users`, or CHAT_SERVICE_KEYS is set: the routes are `anonymous` for the host and the
 *   app checks every request itself: an Entra ID access token, or (with `service`) one of the keys in
 *   CHAT_SERVICE_KEYS, wherever clients put it (`x-functions-key`, `?code=`, `api-key`, or
 *   `Authorization: Bearer <key>`, the apiKey of every OpenAI SDK). The host's own check reads only
 *   `x-functions-key` and `?code=`, so it would refuse an SDK's key before the app runs. The app cannot read
 *   the host's function keys (the host keeps them in its secret store), so server-to-server keys are an app
 *   setting: in Azure a Key Vault reference.
 * - Callers `service` only and no CHAT_SERVICE_KEYS: the chat routes are `authLevel: 'function'`, so the
 *   Functions host checks its own function key before the app runs, in `x-functions-key` or `?code=` only.
 */
import { chatAuthLevel, ConfigError } from '../config';
import { setting, type Env } from '../settings';
import { parseUserAuthSettings, type UserAuthSettings } from './settings';

export interface ChatAccess {
  /** The `authLevel` the chat routes register with. */
  readonly routeAuthLevel: 'function' | 'anonymous';
  /** CHAT_AUTH_LEVEL=anonymous: the app checks nothing either. */
  readonly open: boolean;
  readonly settings: UserAuthSettings;
  /** Keys the app accepts from service callers when the host does not check keys (CHAT_SERVICE_KEYS). */
  readonly serviceKeys: readonly string[];
}

const KEYS_EXAMPLE = '@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/chat-service-key)';

/** Reads the access settings; throws ConfigError naming the setting when one is bad or missing. */
export function chatAccess(env: Env): ChatAccess {
  const level = chatAuthLevel(env);
  const settings = parseUserAuthSettings(env);
  const users = settings.callers.includes('users');
  const serviceKeys = (setting(env, 'CHAT_SERVICE_KEYS') ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (level === 'function' && users && settings.callers.includes('service') && serviceKeys.length === 0) {
    throw new ConfigError(
      'CHAT_SERVICE_KEYS',
      'is missing: with signed-in users the app checks service callers itself (CHAT_AUTH_CALLERS includes service); list their keys, comma-separated, or drop service from CHAT_AUTH_CALLERS',
      KEYS_EXAMPLE,
    );
  }
  return Object.freeze({
    routeAuthLevel: level === 'anonymous' || users || serviceKeys.length > 0 ? 'anonymous' : 'function',
    open: level === 'anonymous',
    settings,
    serviceKeys: Object.freeze(serviceKeys),
  });
}
