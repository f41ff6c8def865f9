import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import type { ChatService } from '../shared/chat-service';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { completionResponse, toChatRequest } from '../shared/http/chat-protocol';
import { clientSignalOf } from '../shared/http/client-disconnect';
import { readJsonBody, validate } from '../shared/http/body';
import { conversationMeta, sessionConversationId } from '../shared/http/conversations';
import { requestScope, traceParentOf } from '../shared/http/request-id';
import { errorResponse, jsonResponse, servedHeaders } from '../shared/http/responses';
import { chatProtocolRequest } from '../shared/http/schemas';

export interface ChatHandlerDeps {
  readonly chat: ChatService;
}

/** POST /api/chat: one chat turn in, the whole answer out (AI Chat Protocol JSON). */
export function createChatPostHandler(deps: ChatHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.chat.config);
    const { requestId, logger } = scope;
    try {
      const body = validate(chatProtocolRequest, await readJsonBody(request, deps.chat.config.maxBodyBytes));
      const ask = { id: sessionConversationId(body.sessionState), store: body.context?.store, messages: body.messages };
      const meta = conversationMeta(request, caller, ask);
      const result = await deps.chat.complete(
        toChatRequest(body, { requestId, logger, ...traceParentOf(context), ...clientSignalOf(context), ...meta }),
      );
      return jsonResponse(200, completionResponse(result, body.sessionState), servedHeaders(result));
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('chat-post', {
  route: 'chat',
  methods: ['POST'],
  authLevel: chatAuthLevel,
  handler: gated(createChatPostHandler),
});
