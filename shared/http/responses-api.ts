/**
 * The Responses API's streamed answer as server-sent events: each event under its own name
 * (`event: response.output_text.delta`), as OpenAI sends them. A failure after the stream started ends
 * it with `response.failed` (when the client already has the response) and an `error` event, whose
 * `error` field carries the one error body: OpenAI SDKs raise an APIError for it, the Vercel AI SDK
 * reports an error part, and clients that read only the typed fields get `code` and `message`.
 */
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ResponseStreamResult } from '../chat-service';
import { errorBody, toChatError } from './responses';
import { frame, type FrameContext } from './streaming';

/** Where the stream got to: the last response object sent and the last sequence number. */
interface Progress {
  response?: object;
  sequence: number;
}

/** The events, then failure events if the answer fails. */
export async function* responseEvents(
  pending: Promise<ResponseStreamResult>,
  ctx: FrameContext,
): AsyncGenerator<Uint8Array> {
  const progress: Progress = { sequence: -1 };
  try {
    const result = await pending;
    for await (const event of result.events) {
      if ('response' in event) progress.response = event.response;
      progress.sequence = event.sequence_number;
      yield frame('sse', event, event.type);
    }
  } catch (thrown) {
    yield* failureEvents(thrown, ctx, progress);
  }
}

function* failureEvents(thrown: unknown, ctx: FrameContext, progress: Progress): Generator<Uint8Array> {
  const error = toChatError(thrown, ctx.requestId);
  ctx.logger.warn(`Stream ended with ${error.code}`, error.diagnosis ? { diagnosis: error.diagnosis } : undefined);
  const body = errorBody(error, ctx);
  let sequence = progress.sequence;
  if (progress.response !== undefined) {
    const failed = { ...progress.response, status: 'failed', error: { code: error.code, message: error.message } };
    yield event({ type: 'response.failed', sequence_number: ++sequence, response: failed });
  }
  yield event({
    type: 'error',
    sequence_number: ++sequence,
    code: error.code,
    message: error.message,
    param: null,
    ...body,
  });
}

function event(value: Pick<ResponseStreamEvent, 'type' | 'sequence_number'> & Record<string, unknown>): Uint8Array {
  return frame('sse', value, value.type);
}
