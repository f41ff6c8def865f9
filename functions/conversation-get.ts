import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { admitted, pageOf, privateHeaders, type ConversationHandlerDeps } from '../shared/http/conversations';
import { requestScope } from '../shared/http/request-id';
import { errorResponse, jsonResponse } from '../shared/http/responses';

/**
 * GET /api/conversations/{id}: the conversation and its messages in order, `pageSize` turns (a question
 * and its answer) a page. Another caller's conversation answers 404, exactly as one that does not exist.
 */
export function createConversationGetHandler(deps: ConversationHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.config);
    try {
      const id = request.params.id ?? '';
      const page = await deps.conversations.read(admitted(caller), id, pageOf(request));
      return jsonResponse(200, page, privateHeaders(scope.requestId));
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('conversation-get', {
  route: 'conversations/{id}',
  methods: ['GET'],
  authLevel: chatAuthLevel,
  handler: gated(createConversationGetHandler),
});
