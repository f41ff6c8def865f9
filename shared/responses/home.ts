/**
 * Follow-ups (`previous_response_id`, `item_reference`) and the region that stored what they refer
 * to: only that region can answer them. While it serves, they go there and nowhere else; when it cannot,
 * the client is told to send the whole conversation, since no other region has the stored turns and the
 * backend keeps no copy of them.
 */
import { ChatError, PREVIOUS_RESPONSE_NOT_FOUND } from '../errors';

/** Failures that mean the home region cannot answer now (as opposed to a bad request or a throttle). */
const UNAVAILABLE: ReadonlySet<string> = new Set([
  'all_regions_failed',
  'region_unavailable',
  'upstream_timeout',
  'upstream_error',
]);

const RESEND = 'Send the whole conversation in input (without previous_response_id or item references)';

/** A follow-up whose home region failed, as the client is told: `previous_response_unavailable` (409). */
export function homeUnavailable(error: unknown, home: string): unknown {
  if (!(error instanceof ChatError) || !UNAVAILABLE.has(error.code)) return error;
  return new ChatError('previous_response_unavailable', {
    message: `The earlier response this request continues is stored in region ${home}, which cannot answer now. ${RESEND}, or try again later.`,
    ...(error.diagnosis === undefined ? {} : { diagnosis: error.diagnosis }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    ...(error.attempts === undefined ? {} : { attempts: error.attempts }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    cause: error,
  });
}

/** A follow-up whose home region this backend does not use (any more) for the model. */
export function homeUnknown(home: string, model: string, requestId: string): ChatError {
  return new ChatError('previous_response_not_found', {
    message: `The earlier response this request continues was stored in region ${home}, which does not serve ${model} here. ${RESEND}.`,
    requestId,
  });
}

/**
 * A follow-up whose id this backend did not give to this caller (another caller's, altered, without a
 * tag, or signed with another secret): answered as a response that does not exist, before any region or
 * quota is asked, so nobody learns whether another caller's id exists.
 */
export function notIssued(requestId: string): ChatError {
  return new ChatError('previous_response_not_found', {
    message: PREVIOUS_RESPONSE_NOT_FOUND,
    diagnosis:
      "previous_response_id or an item_reference was not issued to this caller: another caller's id, an altered one, or one signed with another CHAT_RESPONSE_ID_SECRET (another instance or a restart without the setting).",
    requestId,
  });
}
