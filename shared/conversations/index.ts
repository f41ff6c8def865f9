/**
 * Conversations that persist: per-caller chat history in Table Storage. The chat service
 * calls `begin()` for a turn and the turn's `finish()` with the answer; the conversation endpoints call
 * `list`, `read`, `rename`, `remove` and `removeAll`. Layout: table.ts; the turn's rules: service.ts.
 */
import type { TokenCredential } from '@azure/identity';
import type { Logger } from '../logger';
import { quotaTableClient } from '../quota/table-counters';
import { ConversationService } from './service';
import type { ConversationSettings } from './settings';
import { ConversationTable } from './table';

export { conversationIdFor, CONVERSATION_ID, newConversationId } from './keys';
export {
  ConversationService,
  loadTokenizer,
  type ConversationJson,
  type ConversationLimits,
  type ConversationList,
  type ConversationPage,
  type MessageJson,
  type PageRequest,
} from './service';
export { carriesHistory, fingerprint, splitResent } from './resent';
export { CONVERSATION_DEFAULTS, conversationSettings, type ConversationSettings } from './settings';
export { ConversationTable, type PartialReason } from './table';
export type { AnswerRecord, ConversationOutcome, ConversationRequest, ConversationTurn, TurnRequest } from './turn';

export interface CreateConversationServiceOptions {
  readonly settings: ConversationSettings;
  readonly logger: Logger;
  /** A credential for `CHAT_STORAGE_TABLE_ENDPOINT` (default: the process's one DefaultAzureCredential). */
  readonly credential?: TokenCredential;
  /** Time allowed for each store call, ms (default 1 500). */
  readonly timeoutMs?: number;
}

/** The production wiring: Table Storage when a store is configured; without one, chats are stateless. */
export function createConversationService(options: CreateConversationServiceOptions): ConversationService {
  const { settings } = options;
  // The quota store's client factory: the same store and SDK, another table.
  const table =
    settings.store.kind === 'none'
      ? undefined
      : new ConversationTable({
          client: quotaTableClient(settings.store, settings.table, options.credential),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
  if (!table) options.logger.warn('conversations: no CHAT_STORAGE_* setting; chats are not stored');
  return new ConversationService({ limits: settings, logger: options.logger, ...(table ? { table } : {}) });
}
