/**
 * What a streamed answer came to so far, across the upstream calls that served it: the text the
 * client has (a continuation's starting point), each part's share, the usage to report, and each
 * chunk as the client gets it.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { totalUsage, type AnswerPart, type PartUsage } from './continuation';
import type { OverlapTrimmer } from './resilience/overlap';
import { ToolCallAccumulator } from './tool-calls';

/** One upstream call's share of the answer. */
export class PartTally implements PartUsage {
  usage: CompletionUsage | undefined;
  finishReason: string | undefined;
  contentChunks = 0;
  chars = 0;
  ended: AnswerPart['ended'] = 'open';

  constructor(
    readonly index: number,
    readonly region: string,
  ) {}
}

export class AnswerTally {
  /** The answer text the client has (overlap removed): what a continuation continues. */
  text = '';
  /** The tool calls the answer streams (which cannot be continued as text), put together from their deltas. */
  readonly toolCalls = new ToolCallAccumulator();
  readonly #parts: PartTally[] = [];
  /** The first call's response id: every chunk the client gets carries it. */
  #id: string | undefined;

  startPart(region: string): PartTally {
    const part = new PartTally(this.#parts.length, region);
    this.#parts.push(part);
    return part;
  }

  partCount(): number {
    return this.#parts.length;
  }

  parts(): AnswerPart[] {
    return this.#parts.map(({ region, chars, ended }) => ({ region, chars, ended }));
  }

  /** The regions that served a part so far, each once. */
  regions(): string[] {
    return [...new Set(this.#parts.map((p) => p.region))];
  }

  /** Usage of every call that served the answer (estimated for calls that broke; see totalUsage). */
  usage(): CompletionUsage | undefined {
    return this.#parts.length <= 1 ? this.#parts[0]?.usage : totalUsage(this.#parts);
  }

  /** Without usage (see {@link usage}): the calls that sent none and the content chunks they streamed. */
  unmetered(): { calls: number; chunks: number } | undefined {
    if (this.usage() !== undefined || this.#parts.length === 0) return undefined;
    const chunks = this.#parts.reduce((n, p) => n + (p.usage === undefined ? p.contentChunks : 0), 0);
    return { calls: this.#parts.filter((p) => p.usage === undefined).length, chunks };
  }

  finishReason(): string | undefined {
    return this.#parts.at(-1)?.finishReason;
  }

  /**
   * Counts `chunk` for `part` and returns it as the client gets it (undefined: nothing to send). The
   * first part's chunks pass unchanged; a continuation's go through `trimmer` (see {@link #continued}).
   */
  forward(chunk: ChatCompletionChunk, part: PartTally, trimmer?: OverlapTrimmer): ChatCompletionChunk | undefined {
    this.#id ??= chunk.id;
    if (chunk.usage) part.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice?.finish_reason) {
      part.finishReason = choice.finish_reason;
      // Finished now, not when the call ends: the chunks after it (usage) already tell the parts.
      part.ended = 'finished';
    }
    this.toolCalls.push(choice?.delta.tool_calls);
    const content = choice?.delta.content ?? '';
    if (content !== '') part.contentChunks++;
    // The finish chunk ends the text: whatever the trimmer still holds goes out with it.
    const text =
      trimmer === undefined ? content : trimmer.push(content) + (choice?.finish_reason ? trimmer.flush() : '');
    part.chars += text.length;
    this.text += text;
    return trimmer === undefined ? chunk : this.#continued(chunk, text);
  }

  /**
   * A continuation's chunk as part of the first answer: the first call's id, only the new `text`, no
   * second role delta (the client had one), and in the usage chunk the usage of every part.
   */
  #continued(chunk: ChatCompletionChunk, text: string): ChatCompletionChunk | undefined {
    const id = this.#id ?? chunk.id;
    const [choice, ...others] = chunk.choices;
    if (choice === undefined) return chunk.usage ? { ...chunk, id, usage: this.usage() ?? chunk.usage } : undefined;
    const delta: ChatCompletionChunk.Choice.Delta = { ...choice.delta };
    delete delta.role;
    delete delta.content;
    if (text !== '') delta.content = text;
    if (Object.keys(delta).length === 0 && choice.finish_reason == null) return undefined;
    return { ...chunk, id, choices: [{ ...choice, delta }, ...others] };
  }
}
