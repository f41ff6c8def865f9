/**
 * How each ending of a chat settles its quota reservation (shared/quota reserves a request's estimate before the
 * model call): with what Azure bills for it, as far as the backend can know. Azure bills a request that ran, not
 * one the client read to its end, so hanging up must not make a chat free.
 *
 * | Ending                                          | Settled with                                              |
 * | ----------------------------------------------- | --------------------------------------------------------- |
 * | answered, usage reported                        | the usage (every part of a continued stream added up)     |
 * | stream dropped or broken before its usage chunk | each call's prompt (counted) plus the chunks it streamed  |
 * | no region answered, a region timed out, or the client left a whole answer | the reservation: the region may have run it to its end |
 * | no region answered, each refused (4xx, 429, 5xx, no connection) | nothing: a refused call is not billed       |
 */
import type { AnswerEnd } from './chat-report';
import { ChatError } from './errors';
import type { Logger } from './logger';

/** A request's reserved tokens, as shared/quota's `reserve` gives them. */
export interface QuotaReservation {
  /** Tokens reserved. */
  readonly tokens: number;
  /** Replaces the reservation with the real usage, once. Never rejects. */
  settle(usedTokens: number): Promise<void>;
  /** The request never reached a region (refused after its admission): its tokens and its request given back. */
  release(): Promise<void>;
}

/** The endings of one request, as the report tells them. */
export interface Settlement {
  answered(end: AnswerEnd): Promise<void>;
  failed(error: unknown): Promise<void>;
}

export interface SettlementOptions {
  readonly reservation: QuotaReservation;
  /** The prompt's tokens as a region counts them (bounded work: shared/tokens.ts), for calls that sent no usage. */
  readonly promptTokens: () => Promise<number>;
  readonly logger: Logger;
}

export function settlement(options: SettlementOptions): Settlement {
  const { reservation } = options;
  const settle = async (tokens: () => Promise<number> | number) => {
    try {
      await reservation.settle(await tokens());
    } catch (error) {
      // settle never rejects; counting the prompt may (it is the tokenizer's first load): keep the reservation.
      options.logger.warn('quota: usage estimate failed; the reservation stands', {
        error: error instanceof Error ? error.message : String(error),
      });
      await reservation.settle(reservation.tokens);
    }
  };
  return {
    answered: (end) =>
      settle(async () => {
        if (end.usage) return end.usage.total_tokens;
        const unmetered = end.unmetered;
        if (unmetered === undefined) return reservation.tokens;
        return unmetered.calls * (await options.promptTokens()) + unmetered.chunks;
      }),
    failed: (error) => settle(() => (mayHaveRun(error) ? reservation.tokens : 0)),
  };
}

/** Whether a request that got no answer may still have run (and been billed) in a region. */
export function mayHaveRun(error: unknown): boolean {
  if (!(error instanceof ChatError)) return true;
  if (error.code === 'client_closed') return true;
  return (error.attempts ?? []).some((attempt) => attempt.status === 'timeout');
}
