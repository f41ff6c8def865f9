/**
 * A Responses API request as a region gets it: the backend's ids turned back into Azure's (see
 * ./ids.ts), the region that stored what the request refers to, and the conversation as chat messages
 * for the report (content capture).
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ResponseCreateParamsBase, ResponseInputItem, ResponseUsage } from 'openai/resources/responses/responses';
import type { CompletionUsage } from 'openai/resources/completions';
import type { RegionalId } from './ids';

/** What is sent to a region besides the deployment and `stream`, which the upstream call sets. */
export type ResponseParams = Omit<ResponseCreateParamsBase, 'model' | 'stream'>;

export interface RegionalRequest {
  /** The request with Azure's own ids. */
  readonly params: ResponseParams;
  /**
   * The region that stored the response or items the request refers to (`previous_response_id`,
   * `item_reference`); undefined when it refers to nothing stored.
   */
  readonly home?: string;
  /** The conversation this request sends (instructions first), as the report shows it. */
  readonly messages: ChatCompletionMessageParam[];
}

/**
 * `params` (ids as the backend gave them out) as a region must get it. `read` turns each id the request
 * refers to back into Azure's, or says (undefined) that it was not given to this caller: then the
 * request is refused with `unknown`'s error, as for a response that does not exist.
 */
export function toRegional(
  params: ResponseParams,
  read: (id: string) => RegionalId | undefined,
  unknown: () => Error,
): RegionalRequest {
  const regions: string[] = [];
  const local = (id: string): string => {
    const regional = read(id);
    if (regional === undefined) throw unknown();
    regions.push(regional.region);
    return regional.id;
  };
  const previous = params.previous_response_id;
  const input = typeof params.input === 'string' ? params.input : params.input?.map((item) => localItem(item, local));
  const regional: ResponseParams = {
    ...params,
    ...(typeof previous === 'string' ? { previous_response_id: local(previous) } : {}),
    ...(input === undefined ? {} : { input }),
  };
  return { params: regional, ...(regions[0] ? { home: regions[0] } : {}), messages: chatMessages(params) };
}

/**
 * An input item with Azure's ids: a reference names a stored item of its region; a message's own `id`
 * (an SDK echoing an earlier answer) is dropped, since its content is all a region needs and another
 * region would not know the id. Any other item's `id` (a function call, a reasoning item echoed back) names a
 * stored item too: it must be one given to this caller, untagged for its region, like a reference.
 */
function localItem(item: ResponseInputItem, local: (id: string) => string): ResponseInputItem {
  if (item.type === 'item_reference') return { ...item, id: local(item.id) };
  if ('role' in item && 'id' in item) {
    const { id: _id, ...message } = item;
    return message as ResponseInputItem;
  }
  if ('id' in item && typeof item.id === 'string') return { ...item, id: local(item.id) };
  return item;
}

/** The conversation a request sends, as chat messages (text only). */
function chatMessages(params: ResponseParams): ChatCompletionMessageParam[] {
  const instructions =
    typeof params.instructions === 'string' ? [{ role: 'system' as const, content: params.instructions }] : [];
  if (typeof params.input === 'string') return [...instructions, { role: 'user', content: params.input }];
  const messages = (params.input ?? []).flatMap((item): ChatCompletionMessageParam[] =>
    'role' in item && 'content' in item ? [{ role: item.role, content: textOf(item.content) }] : [],
  );
  return [...instructions, ...messages];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
}

/** A response's usage in the chat completions shape quotas and telemetry count. */
export function completionUsage(usage: ResponseUsage | undefined | null): CompletionUsage | undefined {
  if (!usage) return undefined;
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
  };
}
