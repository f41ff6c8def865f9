import type { InvocationContext, Timer } from '@azure/functions';
import type { ConversationService } from '../shared/conversations';
import { app } from '../shared/functions-app';
import { productionServices } from '../shared/production';

export interface RetentionDeps {
  readonly conversations: Pick<ConversationService, 'sweepExpired'>;
}

/**
 * Daily at 03:30 UTC: deletes every conversation unchanged for longer than
 * CHAT_CONVERSATION_RETENTION_DAYS (Table Storage has no time-to-live of its own). Reads between
 * sweeps already treat an expired conversation as gone. The local host runs HTTP functions only: there
 * the expired conversations are deleted when their owner lists or opens them.
 */
export function createRetentionHandler(deps: RetentionDeps) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const deleted = await deps.conversations.sweepExpired();
    context.log(`conversations: retention deleted ${deleted} conversation(s)`);
  };
}

app.timer('conversations-retention-timer', {
  schedule: '0 30 3 * * *',
  handler: (timer, context) => createRetentionHandler(productionServices())(timer, context),
});
