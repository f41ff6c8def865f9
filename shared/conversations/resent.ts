/**
 * A client that resends the whole history with every call (what every OpenAI SDK, the Vercel AI SDK and
 * LangChain do): the pure decisions of how such a request maps to its stored conversation. The request's
 * messages up to its last assistant message are the history the client holds; the messages after it are
 * the new turn. A conversation is found again by a fingerprint of the history as the client will send it
 * next time: each stored answer records the fingerprint of everything its request sent plus the answer.
 */
import { createHash } from 'node:crypto';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** The parts of a request that resends its history. */
export interface ResentRequest<M> {
  /** The history the client holds: up to and including its last assistant message (empty: none). */
  readonly history: readonly M[];
  /** The new turn: the messages after the history. */
  readonly turn: readonly M[];
}

/** `messages` split at the last assistant message: the history the client resends, and the new turn. */
export function splitResent<M extends { readonly role: string }>(messages: readonly M[]): ResentRequest<M> {
  const last = messages.findLastIndex((m) => m.role === 'assistant');
  return { history: messages.slice(0, last + 1), turn: messages.slice(last + 1) };
}

/** Whether a request carries earlier turns of its chat (an assistant message): its client keeps the history. */
export function carriesHistory(messages: readonly { readonly role: string }[]): boolean {
  return messages.some((m) => m.role === 'assistant');
}

/**
 * A fingerprint of a chat's messages (43 base64url characters, SHA-256): the same for the same roles, texts,
 * images and tool calls, however the client shaped them. A client resends the answer as it got it, often as
 * the SDK's whole message (`refusal: null`, `annotations: []`) or as text parts: those differences do not
 * count, nor do leading and trailing spaces; names and other metadata are left out.
 */
export function fingerprint(messages: readonly ChatCompletionMessageParam[]): string {
  const hash = createHash('sha256');
  for (const message of messages) hash.update(JSON.stringify(canonical(message))).update('\n');
  return hash.digest('base64url');
}

/** What of a message identifies it: role, text, image URLs, tool calls and the call a tool message answers. */
function canonical(message: ChatCompletionMessageParam): unknown[] {
  const role = message.role === 'developer' ? 'system' : message.role;
  const fields: unknown[] = [role, contentText(message.content)];
  if (message.role === 'assistant' && message.tool_calls?.length) {
    fields.push(
      message.tool_calls.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : [c.id])),
    );
  }
  if (message.role === 'tool') fields.push(message.tool_call_id);
  return fields;
}

function contentText(content: ChatCompletionMessageParam['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content.trim();
  return content
    .map((part) => {
      if (part.type === 'text') return part.text;
      if (part.type === 'image_url') return `\u0000image:${part.image_url.url}\u0000`;
      return `\u0000${JSON.stringify(part)}\u0000`;
    })
    .join('')
    .trim();
}
