import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import type { ResponseParams } from '../shared/responses/request';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { dropNulls, readJsonBody, validate } from '../shared/http/body';
import { clientSignalOf } from '../shared/http/client-disconnect';
import { requestScope, traceParentOf } from '../shared/http/request-id';
import { responseEvents } from '../shared/http/responses-api';
import { errorResponse, jsonResponse, servedHeaders } from '../shared/http/responses';
import { openAIResponsesRequest } from '../shared/http/schemas';
import { sseResponse, type StreamHandlerDeps } from '../shared/http/streaming';

export type OpenAIResponsesHandlerDeps = StreamHandlerDeps;

/**
 * POST /api/v1/responses: the OpenAI Responses API (text in, text out), so SDKs that default to it work
 * with their base URL set to this backend. `model` is the logical model name. `stream: true` answers the
 * typed server-sent events (`response.created` ... `response.completed`). Ids carry the region that
 * stored them, and a follow-up (`previous_response_id`) is served by that region only: see README
 * "Responses API".
 */
export function createOpenAIResponsesHandler(deps: OpenAIResponsesHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.chat.config);
    const { requestId, logger } = scope;
    try {
      const body = validate(openAIResponsesRequest, await readJsonBody(request, deps.chat.config.maxBodyBytes));
      const { model, stream, ...params } = body;
      const call = {
        model,
        // The schema admits a subset of the Responses API's request.
        params: dropNulls(params) as ResponseParams,
        requestId,
        logger,
        ...traceParentOf(context),
        ...clientSignalOf(context),
        ...(caller ? { caller } : {}),
      };
      if (stream !== true) {
        const result = await deps.chat.respond(call);
        return jsonResponse(200, result.response, servedHeaders(result));
      }
      const pending = deps.chat.respondStream(call);
      return await sseResponse(deps, { pending, body: responseEvents(pending, scope), requestId });
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

app.http('openai-responses-post', {
  route: 'v1/responses',
  methods: ['POST'],
  authLevel: chatAuthLevel,
  handler: gated(createOpenAIResponsesHandler),
});
