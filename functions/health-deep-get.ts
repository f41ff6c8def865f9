import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppConfig } from '../shared/config';
import type { CredentialSet } from '../shared/credentials';
import { runDoctor } from '../shared/doctor';
import { app, wired } from '../shared/functions-app';
import { deepHealthBody } from '../shared/http/deep-health';
import { requestIdFrom } from '../shared/http/request-id';
import { jsonResponse } from '../shared/http/responses';
import { requestLogger } from '../shared/logger';

export interface HealthDeepHandlerDeps {
  readonly config: AppConfig;
  readonly credentials: CredentialSet;
  /** Time limit of one check, ms (default: the doctor's). */
  readonly timeoutMs?: number;
}

/**
 * GET /api/health/deep (function key): probes each region for real, as `npm run doctor` does:
 * endpoint, credential, a one-token completion per deployment. 200 when every check passes, else
 * 503 with Retry-After and the usual error body, listing every check either way. Diagnoses appear
 * where error bodies carry them (CHAT_EXPOSE_DIAGNOSTICS); otherwise they go to the log only.
 */
export function createHealthDeepHandler(deps: HealthDeepHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const requestId = requestIdFrom(request.headers);
    const logger = requestLogger(context, requestId);
    const report = await runDoctor({
      config: deps.config,
      credentials: deps.credentials,
      ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
    });
    for (const check of report.checks.filter((c) => !c.ok))
      logger.warn(`Deep health: ${check.region} ${check.check} failed: ${check.code ?? ''}`, {
        diagnosis: check.diagnosis,
      });
    const body = deepHealthBody(report, { requestId, exposeDiagnostics: deps.config.exposeDiagnostics });
    const headers = { 'cache-control': 'no-store', 'x-request-id': requestId };
    return jsonResponse(report.ok ? 200 : 503, body, report.ok ? headers : { ...headers, 'retry-after': '30' });
  };
}

app.http('health-deep-get', {
  route: 'health/deep',
  methods: ['GET'],
  authLevel: 'function',
  handler: wired((services) => createHealthDeepHandler({ config: services.config, credentials: services.credentials })),
});
