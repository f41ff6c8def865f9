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
 * GET /api/health: the probe Azure Front Door reads to choose a stamp (infra/modules/frontdoor-origins.bicep).
 * 200 while any region can serve a chat, else 503 with the same body, so Front Door sends users to the other
 * stamp. "Can serve" is shared/stamp-health.ts: a chat or a real check (endpoint, credential, a one-token
 * completion) that succeeded within CHAT_HEALTH_CHECK_INTERVAL_MS; a region with nothing fresh to go on (a fresh
 * instance, a stamp Front Door sends no chats to, a breaker past its cool-down) is checked before the answer, at
 * most once per interval per instance and region, so a recovered stamp answers 200 again with no chat traffic.
 * A throttled region counts as serving (every stamp shares the accounts and their quota: moving would not help).
 *
 * The body, per region: breaker state (`half-open` once its cool-down is over), until when it is skipped, the
 * last error code, the verdict and the last check (codes and times only: never an endpoint, deployment or key);
 * the quota store's state and whether this instance sheds load. Neither fails the probe: a degraded store still
 * serves every chat, and one busy instance must not take the whole stamp out of Front Door. `status` is `ok`
 * while a region serves unthrottled, the store is not degraded and the instance is not shedding. Never shed.
 */
export function createHealthHandler(deps: HealthHandlerDeps) {
  return async (): Promise<HttpResponseInit> => {
    const stamp = await deps.chat.stamp.report();
    const verdicts = new Map(stamp.regions.map((r) => [r.name, r]));
    const regions = deps.chat.health.snapshot().map((r) => {
      const view = verdicts.get(r.name);
      return { ...r, verdict: view?.verdict.kind, ...(view?.lastCheck ? { lastCheck: view.lastCheck } : {}) };
    });
    const serving = stamp.regions.some((r) => r.verdict.kind === 'serving' || r.verdict.kind === 'trial');
    const store = deps.quota?.state();
    const overload = deps.overload?.state();
    const status = serving && store?.state !== 'degraded' && overload?.state !== 'shedding' ? 'ok' : 'degraded';
    return jsonResponse(
      stamp.canServe ? 200 : 503,
      { status, models: deps.chat.models(), regions, ...(store ? { store } : {}), ...(overload ? { overload } : {}) },
      { 'cache-control': 'no-store' },
    );
  };
}

app.http('health-get', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: wired(createHealthHandler),
});
