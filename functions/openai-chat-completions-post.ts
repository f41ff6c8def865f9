import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { AnswerPart, ModelParams, StreamResult } from '../shared/chat-service';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { dropNulls, readJsonBody, validate } from '../shared/http/body';
import { clientSignalOf } from '../shared/http/client-disconnect';
import { conversationIdHeader, conversationMeta } from '../shared/http/conversations';
import { requestScope, traceParentOf } from '../shared/http/request-id';
import { errorResponse, jsonResponse, servedHeaders } from '../shared/http/responses';
import { openAIChatRequest } from '../shared/http/schemas';
import {
  errorFrame,
  frame,
  rawFrame,
  sseResponse,
  type FrameContext,
  type StreamHandlerDeps,
} from '../shared/http/streaming';

export type OpenAIChatHandlerDeps = StreamHandlerDeps;

/**
 * POST /api/v1/chat/completions: the OpenAI Chat Completions API, so any OpenAI SDK works with its
 * base URL set to this backend. `model` is the logical model name; each region maps it to its
 * deployment. `stream: true` answers server-sent events ending with `data: [DONE]`, with keep-alive comments
 * while waiting (see {@link streamResponse}). The `x-conversation-id` header continues a stored conversation
 * (`new` starts one); a signed-in user's chat without it goes on in the conversation its resent history is
 * stored in, or starts one, unless the body says `store: false` (README, "Conversations").
 */
export function createOpenAIChatHandler(deps: OpenAIChatHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.chat.config);
    const { requestId, logger } = scope;
    try {
      const { model, messages, stream, stream_options, store, ...rest } = validate(
        openAIChatRequest,
        await readJsonBody(request, deps.chat.config.maxBodyBytes),
      );
      const ask = { id: request.headers.get('x-conversation-id') ?? undefined, store: store ?? undefined, messages };
      const meta = conversationMeta(request, caller, ask);
      const chatRequest = {
        model,
        // The schema admits exactly the OpenAI message shapes.
        messages: messages as ChatCompletionMessageParam[],
        params: dropNulls(rest) as ModelParams,
        requestId,
        logger,
        ...traceParentOf(context),
        ...clientSignalOf(context),
        ...meta,
      };
      if (stream !== true) {
        const result = await deps.chat.complete(chatRequest);
        return jsonResponse(200, result.completion, servedHeaders(result));
      }
      const pending = deps.chat.stream(chatRequest);
      const includeUsage = stream_options?.include_usage === true;
      return await sseResponse(deps, {
        pending,
        body: events(pending, includeUsage, scope),
        requestId,
        headers: conversationIdHeader(meta.conversation),
      });
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

/**
 * The chunks as OpenAI server-sent events, then `data: [DONE]`. A failure ends the stream with a
 * plain `data: {"error": ...}` event, for which OpenAI SDKs raise an APIError. An answer continued
 * from another region says so in its last chunk: see {@link withServedBy}.
 */
async function* events(
  pending: Promise<StreamResult>,
  includeUsage: boolean,
  ctx: FrameContext,
): AsyncGenerator<Uint8Array> {
  try {
    const result = await pending;
    for await (const chunk of result.chunks) {
      // The backend always asks upstream for usage; pass the usage chunk on only if the client did.
      if (chunk.choices.length === 0 && !includeUsage) continue;
      const last = includeUsage ? chunk.choices.length === 0 : chunk.choices[0]?.finish_reason != null;
      yield frame('sse', last ? withServedBy(chunk, result.parts()) : chunk);
    }
    yield rawFrame('data: [DONE]\n\n');
  } catch (thrown) {
    yield errorFrame('sse', thrown, ctx);
  }
}

/**
 * The last chunk of an answer served in parts, with `x_served_by`: which region sent which part
 * (`[{region, chars, ended}]`). An extra field, which the official SDKs pass through untouched and
 * OpenAI clients that do not know it ignore; an answer served whole is sent as it came.
 */
function withServedBy(
  chunk: ChatCompletionChunk,
  parts: readonly AnswerPart[],
): ChatCompletionChunk & { x_served_by?: readonly AnswerPart[] } {
  return parts.length > 1 ? { ...chunk, x_served_by: parts } : chunk;
}

app.http('openai-chat-completions-post', {
  route: 'v1/chat/completions',
  methods: ['POST'],
  authLevel: chatAuthLevel,
  handler: gated(createOpenAIChatHandler),
});
