import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { admitted, pageOf, privateHeaders, type ConversationHandlerDeps } from '../shared/http/conversations';
import { requestScope } from '../shared/http/request-id';
import { errorResponse, jsonResponse } from '../shared/http/responses';

/**
 * GET /api/conversations: the caller's conversations, newest change first (`id`, `title`, `created`,
 * `updated`, `messageCount`), `pageSize` (1-100, default 20) a page; `continuationToken` fetches the next.
 */
export function createConversationsGetHandler(deps: ConversationHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.config);
    try {
      const list = await deps.conversations.list(admitted(caller), pageOf(request));
      return jsonResponse(200, list, privateHeaders(scope.requestId));
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('conversations-get', {
  route: 'conversations',
  methods: ['GET'],
  authLevel: chatAuthLevel,
  handler: gated(createConversationsGetHandler),
});
