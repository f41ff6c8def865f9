import type { HttpResponseInit } from '@azure/functions';
import type { ChatService } from '../shared/chat-service';
import { app, wired } from '../shared/functions-app';
import { jsonResponse } from '../shared/http/responses';

export interface HealthHandlerDeps {
  readonly chat: ChatService;
}

/**
 * GET /api/health: answers at once, without calling a model. Per region: breaker state, until when
 * it is skipped, the last error code and when. `status` is `ok` while any region can serve.
 */
export function createHealthHandler(deps: HealthHandlerDeps) {
  return (): Promise<HttpResponseInit> => {
    const regions = deps.chat.health.snapshot();
    const serving = regions.some((r) => r.state !== 'open' && r.throttledUntil === undefined);
    return Promise.resolve(
      jsonResponse(
        200,
        { status: serving ? 'ok' : 'degraded', models: deps.chat.models(), regions },
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
