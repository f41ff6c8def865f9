import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { readJsonBody, validate } from '../shared/http/body';
import { admitted, privateHeaders, type ConversationHandlerDeps } from '../shared/http/conversations';
import { requestScope } from '../shared/http/request-id';
import { errorResponse, jsonResponse } from '../shared/http/responses';
import { conversationPatch } from '../shared/http/schemas';

/** PATCH /api/conversations/{id} with `{"title": "..."}`: renames the conversation; answers it as listed. */
export function createConversationPatchHandler(deps: ConversationHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.config);
    try {
      const who = admitted(caller);
      const { title } = validate(conversationPatch, await readJsonBody(request, deps.config.maxBodyBytes));
      const renamed = await deps.conversations.rename(who, request.params.id ?? '', title);
      return jsonResponse(200, renamed, privateHeaders(scope.requestId));
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('conversation-patch', {
  route: 'conversations/{id}',
  methods: ['PATCH'],
  authLevel: chatAuthLevel,
  handler: gated(createConversationPatchHandler),
});
