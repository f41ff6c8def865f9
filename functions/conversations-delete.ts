import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { admitted, privateHeaders, type ConversationHandlerDeps } from '../shared/http/conversations';
import { requestScope } from '../shared/http/request-id';
import { errorResponse, jsonResponse } from '../shared/http/responses';

/** DELETE /api/conversations: deletes all of the caller's conversations and their messages; `{deleted}` says how many. */
export function createConversationsDeleteHandler(deps: ConversationHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.config);
    try {
      const deleted = await deps.conversations.removeAll(admitted(caller));
      return jsonResponse(200, { deleted }, privateHeaders(scope.requestId));
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('conversations-delete', {
  route: 'conversations',
  methods: ['DELETE'],
  authLevel: chatAuthLevel,
  handler: gated(createConversationsDeleteHandler),
});
