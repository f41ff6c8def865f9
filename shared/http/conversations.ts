/**
 * How HTTP requests name a conversation and how answers say what came of it: the AI Chat
 * Protocol's `sessionState.conversationId`, the OpenAI-compatible endpoint's `x-conversation-id` header,
 * the opt-out (`context.store: false`, OpenAI's `store: false`), `Idempotency-Key`, and the listing's paging.
 */
import type { HttpRequest } from '@azure/functions';
import type { Caller } from '../auth/caller';
import {
  carriesHistory,
  conversationIdFor,
  type ConversationOutcome,
  type ConversationRequest,
  type ConversationService,
} from '../conversations';
import { ChatError } from '../errors';
import { partitionKey } from '../quota/windows';

export interface ConversationAsk {
  readonly caller?: Caller | undefined;
  /** The id the request names; `new` asks for a new conversation (how a service or app caller starts one). */
  readonly id?: string | undefined;
  /** `false`: a stateless chat, nothing loaded or stored. */
  readonly store?: boolean | undefined;
  readonly idempotencyKey?: string | undefined;
  /** The request resends earlier turns of its chat (an assistant message among its messages). */
  readonly resent?: boolean | undefined;
}

/**
 * The conversation of a chat: the one named, a new one for a signed-in user who names none (its id
 * derived from the `Idempotency-Key` when there is one, so a retry lands in the same conversation), else
 * none: service and app callers are stateless unless they name one (`new` starts one). A signed-in user's
 * request that names none but resends its history goes on in the conversation that history is stored in
 * (`find`; a new one with that id when it is stored nowhere).
 */
export function conversationRequest(ask: ConversationAsk): ConversationRequest | undefined {
  const { caller } = ask;
  if (!caller || ask.store === false) return undefined;
  if (ask.id !== undefined && ask.id !== 'new') return { kind: 'continue', id: ask.id };
  if (ask.id === undefined && caller.kind !== 'user') return undefined;
  const id = conversationIdFor(partitionKey(caller), ask.idempotencyKey);
  return ask.id === undefined && ask.resent === true ? { kind: 'find', id } : { kind: 'start', id };
}

/** The `Idempotency-Key` header: 1 to 256 visible ASCII characters; absent when not sent. */
export function idempotencyKeyOf(request: Pick<HttpRequest, 'headers'>): string | undefined {
  const key = request.headers.get('idempotency-key');
  if (key === null) return undefined;
  if (/^[\x21-\x7e]{1,256}$/.test(key)) return key;
  const message = 'must be 1 to 256 visible ASCII characters';
  throw new ChatError('invalid_request', {
    message: `The request is invalid: the Idempotency-Key header ${message}.`,
    fields: [{ path: 'Idempotency-Key', message }],
  });
}

/** `sessionState.conversationId` of an AI Chat Protocol request, when it is a string. */
export function sessionConversationId(sessionState: unknown): string | undefined {
  if (typeof sessionState !== 'object' || sessionState === null) return undefined;
  const id = (sessionState as { conversationId?: unknown }).conversationId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The sessionState to answer with: as sent, plus `conversationId` when the chat is in a stored
 * conversation (an object or nothing sent; other JSON is returned as sent, the id is in `context`).
 */
export function sessionStateWith(sessionState: unknown, outcome: ConversationOutcome | undefined): unknown {
  if (!outcome || outcome.state === 'unavailable') return sessionState;
  if (sessionState === undefined) return { conversationId: outcome.id };
  if (typeof sessionState !== 'object' || sessionState === null || Array.isArray(sessionState)) return sessionState;
  return { ...sessionState, conversationId: outcome.id };
}

/** Headers that say what came of the conversation: its id and state, and the warning when it was not stored. */
export function conversationHeaders(outcome: ConversationOutcome | undefined): Record<string, string> {
  if (!outcome) return {};
  return {
    'x-conversation-id': outcome.id,
    'x-conversation-state': outcome.state,
    ...(outcome.state === 'unavailable' ? { 'x-conversation-warning': outcome.warning } : {}),
  };
}

/** Default and largest page of the conversation endpoints (conversations, or turns of one). */
export const PAGE_SIZE = { fallback: 20, max: 100 } as const;

/** `?pageSize=` (1 to 100, default 20) and `?continuationToken=` (from the previous page). */
export function pageOf(request: Pick<HttpRequest, 'query'>): { pageSize: number; continuationToken?: string } {
  const raw = request.query.get('pageSize');
  const pageSize = raw === null ? PAGE_SIZE.fallback : Number(raw);
  if (!/^\d{1,3}$/.test(raw ?? '20') || pageSize < 1 || pageSize > PAGE_SIZE.max) {
    const message = `must be a whole number from 1 to ${PAGE_SIZE.max}`;
    throw new ChatError('invalid_request', {
      message: `The request is invalid: pageSize ${message}.`,
      fields: [{ path: 'pageSize', message }],
    });
  }
  const token = request.query.get('continuationToken');
  return { pageSize, ...(token ? { continuationToken: token } : {}) };
}

/** What a chat request carries about its caller and conversation, to spread into the ChatRequest. */
export interface ConversationMeta {
  readonly caller?: Caller;
  readonly conversation?: ConversationRequest;
  readonly idempotencyKey?: string;
}

/** The caller, conversation and `Idempotency-Key` of a chat request naming conversation `id` (or none). */
export function conversationMeta(
  request: Pick<HttpRequest, 'headers'>,
  caller: Caller | undefined,
  ask: {
    readonly id: string | undefined;
    readonly store: boolean | undefined;
    /** The request's messages: whether they resend the chat's history. */
    readonly messages: readonly { readonly role: string }[];
  },
): ConversationMeta {
  const idempotencyKey = idempotencyKeyOf(request);
  const { messages, ...named } = ask;
  const conversation = conversationRequest({ caller, ...named, idempotencyKey, resent: carriesHistory(messages) });
  return {
    ...(caller ? { caller } : {}),
    ...(conversation ? { conversation } : {}),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  };
}

/**
 * The id of the chat's conversation as a header, known before the answer (a stream's headers go out early);
 * not for `find`, whose conversation is known once its history is looked up (the answer's headers say it).
 */
export function conversationIdHeader(conversation: ConversationRequest | undefined): Record<string, string> {
  return conversation && conversation.kind !== 'find' ? { 'x-conversation-id': conversation.id } : {};
}

/** What a conversation endpoint needs: the conversations, and whether error bodies carry diagnoses. */
export interface ConversationHandlerDeps {
  readonly conversations: ConversationService;
  readonly config: { readonly exposeDiagnostics: boolean; readonly maxBodyBytes: number };
}

/** The admitted caller; none means the handler was called without the gate, which admits nobody. */
export function admitted(caller: Caller | undefined): Caller {
  if (caller) return caller;
  throw new ChatError('unauthorized', { message: 'Sign in to use conversations (Authorization: Bearer <token>).' });
}

/** Headers of a conversation endpoint's answer: private data, never cached. */
export function privateHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, 'cache-control': 'no-store' };
}
