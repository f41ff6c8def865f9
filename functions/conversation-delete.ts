import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { admitted, privateHeaders, type ConversationHandlerDeps } from '../shared/http/conversations';
import { requestScope } from '../shared/http/request-id';
import { errorResponse } from '../shared/http/responses';

/** DELETE /api/conversations/{id}: deletes the conversation and every message of it (204); 404 when it is not the caller's. */
export function createConversationDeleteHandler(deps: ConversationHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.config);
    try {
      await deps.conversations.remove(admitted(caller), request.params.id ?? '');
      return { status: 204, headers: privateHeaders(scope.requestId) };
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('conversation-delete', {
  route: 'conversations/{id}',
  methods: ['DELETE'],
  authLevel: chatAuthLevel,
  handler: gated(createConversationDeleteHandler),
});
