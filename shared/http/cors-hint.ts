/**
 * What a browser's CORS preflight from an origin the API does not allow is told. A browser shows a failed
 * preflight as a bare "CORS error"; the network panel shows this body, which names the setting to change, in
 * every place it can be set: `Host.CORS` in local.settings.json (`npm start` and `func start`), the
 * `LOCAL_CORS_ORIGINS` environment variable (`npm start`), and the Bicep parameter `corsAllowedOrigins` (Azure).
 */
import { ChatError } from '../errors';

/** Whether a request is a CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
export function isCorsPreflight(method: string, header: (name: string) => string | null | undefined): boolean {
  return (
    method.toUpperCase() === 'OPTIONS' && Boolean(header('origin')) && Boolean(header('access-control-request-method'))
  );
}

/** The message for a preflight from `origin`, which no CORS setting allows. */
export function originNotAllowedMessage(origin: string): string {
  // The origin is echoed only when it is a plain origin: nothing else a caller sent goes into the answer.
  const shown = /^https?:\/\/[A-Za-z0-9.[\]:-]{1,260}$/.test(origin) ? origin : 'this origin';
  return (
    `CORS: ${shown} is not allowed to call this API. Locally, add it to "Host": { "CORS": "..." } in ` +
    'local.settings.json (comma-separated origins) or to the LOCAL_CORS_ORIGINS environment variable and restart; ' +
    'in Azure, to the corsAllowedOrigins parameter of infra/main.bicep.'
  );
}

export function originNotAllowed(origin: string, requestId?: string): ChatError {
  return new ChatError('origin_not_allowed', {
    message: originNotAllowedMessage(origin),
    ...(requestId ? { requestId } : {}),
  });
}
