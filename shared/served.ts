/** What a served request is: where it was answered, and (inside the service) what it takes to finish it. */
import type { RequestReport } from './chat-report';
import type { Attempt } from './errors';
import type { Upstream } from './upstream';

/** Where and how a request was served. */
export interface Served {
  readonly model: string;
  readonly region: string;
  readonly attempts: readonly Attempt[];
  readonly requestId: string;
}

/** A request that a region answered, with what it takes to finish it. */
export interface Serving<T> {
  readonly served: Served;
  /** The region that answered. */
  readonly upstream: Upstream;
  readonly answer: T;
  /** Aborts the winning call (deadline, client disconnect); live for as long as a stream is read. */
  readonly signal: AbortSignal;
  /** Releases the winning attempt's timers: call once the answer has been read. */
  readonly release: () => void;
  /** Aborts the winning call while its answer is read (a stalled stream); not a timeout. */
  readonly abort: (reason: Error) => void;
  readonly report: RequestReport;
  /** The regions that deploy the model, in order (a continuation tries them again). */
  readonly regions: readonly string[];
  /** Absolute time (health clock) by which the whole request, continuations included, must be answered. */
  readonly deadline: number;
}
