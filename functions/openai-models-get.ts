import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ChatService } from '../shared/chat-service';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { requestIdFrom } from '../shared/http/request-id';
import { jsonResponse } from '../shared/http/responses';

export interface OpenAIModelsHandlerDeps {
  readonly chat: ChatService;
}

/** GET /api/v1/models: the logical model names clients may ask for, in the OpenAI list shape. */
export function createOpenAIModelsHandler(deps: OpenAIModelsHandlerDeps) {
  return (request: HttpRequest): Promise<HttpResponseInit> =>
    Promise.resolve(
      jsonResponse(
        200,
        {
          object: 'list',
          data: deps.chat.models().map((id) => ({ id, object: 'model', created: 0, owned_by: 'azure-openai' })),
        },
        { 'x-request-id': requestIdFrom(request.headers) },
      ),
    );
}

app.http('openai-models-get', {
  route: 'v1/models',
  methods: ['GET'],
  authLevel: chatAuthLevel,
  handler: gated(createOpenAIModelsHandler),
});
