import type { HttpResponseInit } from '@azure/functions';
import type { ChatService } from '../shared/chat-service';
import type { QuotaStoreState } from '../shared/quota';
import type { OverloadState } from '../shared/resilience/load-shedder';
import { app, wired } from '../shared/functions-app';
import { jsonResponse } from '../shared/http/responses';

export interface HealthHandlerDeps {
  readonly chat: ChatService;
  /** Where per-user quotas are counted; absent when a test builds the handler without one. */
  readonly quota?: { state(): QuotaStoreState };
  /** The load shedder; absent when a test builds the handler without one. Health itself is never shed. */
  readonly overload?: { state(): OverloadState };
}

/**
 * GET /api/health: answers at once, without calling a model. Per region: breaker state, until when
 * it is skipped, the last error code and when; the quota store's state (`degraded` while the
 * store is out and each instance counts alone); and whether this instance is shedding load (`overload`).
 * `status` is `ok` while any region can serve, the store is not degraded and the instance is not shedding.
 *
 * The status code is what Azure Front Door's health probe reads (infra/modules/frontdoor-origins.bicep):
 * 503, with the same body, when every region's breaker is open, so this stamp cannot answer a chat
 * and Front Door should send users to the other stamp; 200 otherwise. A throttled region does not
 * count against the stamp (every stamp shares the same accounts and their quota, so moving traffic
 * would not help), and a degraded quota store still serves every chat, so it never fails the probe. Nor
 * does shedding: one busy instance must not take the whole stamp out of Front Door (the platform adds
 * instances; the shed requests' Retry-After brings them back).
 */
export function createHealthHandler(deps: HealthHandlerDeps) {
  return (): Promise<HttpResponseInit> => {
    const regions = deps.chat.health.snapshot();
    const serving = regions.some((r) => r.state !== 'open' && r.throttledUntil === undefined);
    const store = deps.quota?.state();
    const overload = deps.overload?.state();
    const status = serving && store?.state !== 'degraded' && overload?.state !== 'shedding' ? 'ok' : 'degraded';
    const stampCanServe = regions.some((r) => r.state !== 'open');
    return Promise.resolve(
      jsonResponse(
        stampCanServe ? 200 : 503,
        { status, models: deps.chat.models(), regions, ...(store ? { store } : {}), ...(overload ? { overload } : {}) },
        { 'cache-control': 'no-store' },
      ),
    );
  };
}

app.http('health-get', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: wired(createHealthHandler),
});
