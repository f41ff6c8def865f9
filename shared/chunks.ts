/**
 * Azure's quirks in streamed chunks, handled in one place: which chunks are worth forwarding, and
 * the shape consumers may rely on.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

/**
 * Whether a chunk is worth forwarding. Azure opens a stream with a chunk that has no choices and
 * only `prompt_filter_results`; the usage chunk (no choices, `usage` set) is kept.
 */
export function isForwardable(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.length > 0 || chunk.usage != null;
}

/**
 * The chunk with a `delta` on every choice. Azure's asynchronous filter verdict chunk has a choice
 * without one (aoai_stream_sse_async_filter_content_filter_finish.json); a copy with an empty delta
 * lets consumers rely on the SDK's type. The chunk given is not changed.
 */
export function withDeltas(chunk: ChatCompletionChunk): ChatCompletionChunk {
  const hasDelta = (choice: ChatCompletionChunk.Choice) => (choice as { delta?: object }).delta !== undefined;
  if (chunk.choices.every(hasDelta)) return chunk;
  return { ...chunk, choices: chunk.choices.map((choice) => (hasDelta(choice) ? choice : { ...choice, delta: {} })) };
}

/**
 * The next chunk worth forwarding (with deltas), or undefined when the stream ends first. `read` reads
 * one chunk (default `chunks.next()`; the relay passes one with the stream idle limit).
 */
export async function nextForwardable(
  chunks: AsyncIterator<ChatCompletionChunk>,
  read: (chunks: AsyncIterator<ChatCompletionChunk>) => Promise<IteratorResult<ChatCompletionChunk>> = (c) => c.next(),
): Promise<ChatCompletionChunk | undefined> {
  for (;;) {
    const next = await read(chunks);
    if (next.done === true) return undefined;
    if (isForwardable(next.value)) return withDeltas(next.value);
  }
}
