import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { ChatService, StreamResult } from '../shared/chat-service';
import { app, chatAuthLevel, wired } from '../shared/functions-app';
import { readJsonBody, validate } from '../shared/http/body';
import { chatContext, toModelMessages, toModelParams } from '../shared/http/chat-protocol';
import { requestIdFrom } from '../shared/http/request-id';
import { errorBody, errorResponse, servedHeaders, toChatError } from '../shared/http/responses';
import { chatProtocolRequest } from '../shared/http/schemas';
import { frame, streamFormat, streamHeaders, type StreamFormat } from '../shared/http/streaming';
import { requestLogger, type Logger } from '../shared/logger';

export interface ChatStreamHandlerDeps {
  readonly chat: ChatService;
}

/**
 * POST /api/chat/stream: the answer token by token, as AI Chat Protocol JSON lines
 * (`{delta, context?, sessionState?}`), or as server-sent events when the client sends
 * `Accept: text/event-stream`. Failover happens before the first byte; after it, a broken
 * upstream ends the stream with an error frame.
 */
export function createChatStreamHandler(deps: ChatStreamHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const requestId = requestIdFrom(request.headers);
    const logger = requestLogger(context, requestId);
    const exposeDiagnostics = deps.chat.config.exposeDiagnostics;
    try {
      const body = validate(chatProtocolRequest, await readJsonBody(request));
      const result = await deps.chat.stream({
        ...(body.context?.model !== undefined ? { model: body.context.model } : {}),
        messages: toModelMessages(body),
        params: toModelParams(body),
        requestId,
        logger,
      });
      const format = streamFormat(request.headers.get('accept'));
      return {
        status: 200,
        headers: { ...streamHeaders(format), ...servedHeaders(result) },
        body: frames(result, format, body.sessionState, { requestId, exposeDiagnostics, logger }),
      };
    } catch (error) {
      return errorResponse(error, { requestId, exposeDiagnostics, logger });
    }
  };
}

async function* frames(
  result: StreamResult,
  format: StreamFormat,
  sessionState: unknown,
  ctx: { requestId: string; exposeDiagnostics: boolean; logger: Logger },
): AsyncGenerator<Uint8Array> {
  let finishReason: string | null = null;
  let usage = null;
  try {
    for await (const chunk of result.chunks) {
      usage = chunk.usage ?? usage;
      const choice = chunk.choices[0];
      finishReason = choice?.finish_reason ?? finishReason;
      const content = choice?.delta.content;
      if (content) yield frame(format, { delta: { role: 'assistant', content } });
    }
    yield frame(format, {
      delta: { role: 'assistant' },
      context: chatContext(result, finishReason, usage),
      ...(sessionState !== undefined ? { sessionState } : {}),
    });
  } catch (thrown) {
    const error = toChatError(thrown, ctx.requestId);
    ctx.logger.warn(`Stream ended with ${error.code}`, error.diagnosis ? { diagnosis: error.diagnosis } : undefined);
    yield frame(format, errorBody(error, ctx), 'error');
  }
}

app.http('chat-stream-post', {
  route: 'chat/stream',
  methods: ['POST'],
  authLevel: chatAuthLevel,
  handler: wired(createChatStreamHandler),
});
