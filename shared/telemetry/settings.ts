/** The telemetry app settings: where to send, how to authenticate, whether content is logged. */
import { ConfigError } from '../config-error';
import { booleanSetting, setting, type Env } from '../settings';

export interface TelemetrySettings {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING; telemetry is off without it. */
  readonly connectionString?: string;
  /**
   * Entra ID (AAD) ingestion from APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD`
   * (system-assigned identity) or `Authorization=AAD;ClientId=<id>` (user-assigned).
   */
  readonly entra?: { readonly clientId?: string };
  /** CHAT_LOG_CONTENT=true: prompt and answer text go to telemetry (ChatContent events). Default false. */
  readonly logContent: boolean;
}

const AUTH_EXAMPLE = 'Authorization=AAD;ClientId=<client id of the user-assigned identity>';

/** Reads the telemetry settings; throws {@link ConfigError} naming a bad one. */
export function telemetrySettings(env: Env): TelemetrySettings {
  const connectionString = setting(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING');
  const logContent = booleanSetting(env, 'CHAT_LOG_CONTENT', false);
  const auth = setting(env, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
  let entra: TelemetrySettings['entra'];
  if (auth !== undefined) {
    const fields = new Map(
      auth
        .split(';')
        .map((pair) => pair.split('='))
        .filter((kv): kv is [string, string] => kv.length === 2)
        .map(([k, v]) => [k.trim().toLowerCase(), v.trim()] as const),
    );
    if (fields.get('authorization')?.toUpperCase() !== 'AAD') {
      // Never echo the value back: it is not a secret, but it sits beside ones that are.
      throw new ConfigError(
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        'must start with Authorization=AAD',
        AUTH_EXAMPLE,
      );
    }
    const clientId = fields.get('clientid');
    entra = clientId ? { clientId } : {};
  }
  return {
    ...(connectionString === undefined ? {} : { connectionString }),
    ...(entra === undefined ? {} : { entra }),
    logContent,
  };
}
