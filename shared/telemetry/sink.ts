import type { AttemptReport, CompletionReport, FailureReport } from '../chat-report';
import type { BreakerChange } from '../region-health';

/** What the SDK-facing side implements; see ./azure-monitor.ts. */
export interface TelemetrySink {
  attempt(report: AttemptReport): void;
  completed(report: CompletionReport): void;
  failed(report: FailureReport): void;
  breakerChanged(change: BreakerChange): void;
  /** Sends everything recorded so far and waits for the ingestion endpoint to take it. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}
