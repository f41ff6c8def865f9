/**
 * The conversation settings, parsed once into a frozen object; a bad value throws a
 * ConfigError naming the setting. The store is the one of the quotas (`CHAT_STORAGE_CONNECTION_STRING`
 * or `CHAT_STORAGE_TABLE_ENDPOINT`), in a table of its own.
 */
import { storeSetting, tableSetting, type QuotaStoreSetting } from '../quota/settings';
import { intSetting, type Env } from '../settings';

export interface ConversationSettings {
  /** Where conversations live; `none`: no store configured, chats are stateless. */
  readonly store: QuotaStoreSetting;
  /** `CHAT_CONVERSATIONS_TABLE`, default `conversations` (the Bicep template creates it). */
  readonly table: string;
  /** Days a conversation is kept after its last change (`CHAT_CONVERSATION_RETENTION_DAYS`, default 90; 0 = forever). */
  readonly retentionDays: number;
  /** The model's context window, tokens (`CHAT_CONTEXT_TOKENS`, default 128 000, gpt-4o's): history is trimmed to fit. */
  readonly contextTokens: number;
  /** Tokens kept free for the answer when a request sets no max_tokens (`CHAT_ANSWER_RESERVE_TOKENS`, default 4 096). */
  readonly answerReserveTokens: number;
  /**
   * Longest stored message (a turn's request messages together, or an answer), characters
   * (`CHAT_CONVERSATION_MAX_MESSAGE_CHARS`, default 400 000: under 1 MiB of UTF-16, split over 30 000-character
   * entities). A longer question is refused with 413 `message_too_large`; a longer answer is stored up to it, marked partial.
   */
  readonly maxMessageChars: number;
}

export const CONVERSATION_DEFAULTS = {
  table: 'conversations',
  retentionDays: 90,
  contextTokens: 128_000,
  answerReserveTokens: 4_096,
  maxMessageChars: 400_000,
} as const;

/** Parses the conversation settings from the environment (app settings in Azure, `local.settings.json` locally). */
export function conversationSettings(env: Env): ConversationSettings {
  const d = CONVERSATION_DEFAULTS;
  return Object.freeze({
    store: Object.freeze(storeSetting(env)),
    table: tableSetting(env, 'CHAT_CONVERSATIONS_TABLE', d.table),
    retentionDays: intSetting(env, 'CHAT_CONVERSATION_RETENTION_DAYS', {
      fallback: d.retentionDays,
      min: 0,
      max: 36_500,
    }),
    contextTokens: intSetting(env, 'CHAT_CONTEXT_TOKENS', { fallback: d.contextTokens, min: 1_024, max: 10_000_000 }),
    answerReserveTokens: intSetting(env, 'CHAT_ANSWER_RESERVE_TOKENS', {
      fallback: d.answerReserveTokens,
      min: 0,
      max: 1_000_000,
    }),
    maxMessageChars: intSetting(env, 'CHAT_CONVERSATION_MAX_MESSAGE_CHARS', {
      fallback: d.maxMessageChars,
      min: 1_000,
      max: 2_700_000,
    }),
  });
}
