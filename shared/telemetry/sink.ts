import type { AttemptReport, CompletionReport, FailureReport } from '../chat-report';
import type { BreakerChange } from '../region-health';
import type { OverloadChange } from '../resilience/load-shedder';

/** What the SDK-facing side implements; see ./azure-monitor.ts. */
export interface TelemetrySink {
  attempt(report: AttemptReport): void;
  completed(report: CompletionReport): void;
  failed(report: FailureReport): void;
  breakerChanged(change: BreakerChange): void;
  /** A request the load shedder turned away (503 overloaded), by route. */
  shed(report: { readonly route: string }): void;
  overloadChanged(change: OverloadChange): void;
  /** Sends everything recorded so far and waits for the ingestion endpoint to take it. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}
