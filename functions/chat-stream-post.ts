import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../shared/auth/caller';
import type { StreamResult } from '../shared/chat-service';
import { app, chatAuthLevel, gated } from '../shared/functions-app';
import { readJsonBody, validate } from '../shared/http/body';
import { chatContext, toChatRequest } from '../shared/http/chat-protocol';
import { clientSignalOf } from '../shared/http/client-disconnect';
import {
  conversationIdHeader,
  conversationMeta,
  sessionConversationId,
  sessionStateWith,
} from '../shared/http/conversations';
import { requestScope, traceParentOf } from '../shared/http/request-id';
import { errorResponse } from '../shared/http/responses';
import { chatProtocolRequest } from '../shared/http/schemas';
import {
  errorFrame,
  frame,
  streamFormat,
  streamResponse,
  type FrameContext,
  type StreamFormat,
  type StreamHandlerDeps,
} from '../shared/http/streaming';

export type ChatStreamHandlerDeps = StreamHandlerDeps;

/**
 * POST /api/chat/stream: the answer token by token, as AI Chat Protocol JSON lines
 * (`{delta, context?, sessionState?}`), or as server-sent events when the client sends
 * `Accept: text/event-stream`. Failover happens before the first byte; after it, a broken upstream
 * is continued from another region (the final frame's `context.parts` says who sent what), and only
 * when none can the stream ends with an error frame. Keep-alives while waiting: see {@link streamResponse}.
 */
export function createChatStreamHandler(deps: ChatStreamHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext, caller?: Caller): Promise<HttpResponseInit> => {
    const scope = requestScope(request, context, deps.chat.config);
    const { requestId, logger } = scope;
    try {
      const body = validate(chatProtocolRequest, await readJsonBody(request, deps.chat.config.maxBodyBytes));
      const format = streamFormat(request.headers.get('accept'));
      const ask = { id: sessionConversationId(body.sessionState), store: body.context?.store, messages: body.messages };
      const meta = conversationMeta(request, caller, ask);
      const signal = clientSignalOf(context);
      const pending = deps.chat.stream(
        toChatRequest(body, { requestId, logger, ...traceParentOf(context), ...signal, ...meta }),
      );
      return await streamResponse({
        pending,
        body: frames(pending, format, body.sessionState, scope),
        format,
        heartbeatMs: deps.chat.config.heartbeatMs,
        ...(deps.timers ? { timers: deps.timers } : {}),
        headers: { 'x-request-id': requestId, ...conversationIdHeader(meta.conversation) },
      });
    } catch (error) {
      return errorResponse(error, scope);
    }
  };
}

/** The answer as `{delta}` frames, then a final frame with `context`; an error frame when the answer fails. */
async function* frames(
  pending: Promise<StreamResult>,
  format: StreamFormat,
  sessionState: unknown,
  ctx: FrameContext,
): AsyncGenerator<Uint8Array> {
  let finishReason: string | null = null;
  let usage = null;
  try {
    const result = await pending;
    for await (const chunk of result.chunks) {
      usage = chunk.usage ?? usage;
      const choice = chunk.choices[0];
      finishReason = choice?.finish_reason ?? finishReason;
      const content = choice?.delta.content;
      if (content) yield frame(format, { delta: { role: 'assistant', content } });
    }
    // Read after the chunks: by then the answer is stored, and the outcome says how.
    const conversation = result.conversation?.();
    const state = sessionStateWith(sessionState, conversation);
    yield frame(format, {
      delta: { role: 'assistant' },
      context: chatContext(result, { finishReason, usage, parts: result.parts(), conversation }),
      ...(state !== undefined ? { sessionState: state } : {}),
    });
  } catch (thrown) {
    yield errorFrame(format, thrown, ctx, 'error');
  }
}

app.http('chat-stream-post', {
  route: 'chat/stream',
  methods: ['POST'],
  authLevel: chatAuthLevel,
  handler: gated(createChatStreamHandler),
});
