/**
 * Application Insights for this backend: a dependency per upstream attempt, token and
 * latency metrics, breaker and all-regions-failed events. What the Functions host already records
 * (requests, console logs, host metrics) is left to the host.
 *
 * This module is light on purpose: with no connection string telemetry is off and the SDK
 * (applicationinsights and OpenTelemetry, a few hundred modules) is never loaded. With one, the SDK
 * is loaded once, asynchronously, by `./azure-monitor.ts`; whatever the chat service
 * reports before it is ready is queued and replayed with its original timestamps.
 */
import type { ChatObserver, AttemptReport, CompletionReport, FailureReport } from '../chat-report';
import { silentLogger, type Logger } from '../logger';
import type { BreakerChange } from '../region-health';
import type { OverloadChange, OverloadObserver } from '../resilience/load-shedder';
// Type only (erased from the output): the SDK side is loaded with import() below, never statically.
import type * as AzureMonitor from './azure-monitor.js';
import type { TelemetrySettings } from './settings';
import type { TelemetrySink } from './sink';

export { telemetrySettings, type TelemetrySettings } from './settings';
export type { TelemetrySink } from './sink';

/** The chat service's observer, plus the controls a host or a test needs. */
export interface Telemetry extends ChatObserver, OverloadObserver {
  readonly enabled: boolean;
  /** Resolves once the SDK is started (at once when telemetry is off); never rejects. */
  ready(): Promise<void>;
  /** Sends everything recorded so far (force-flushes traces, metrics and logs). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export const telemetryOff: Telemetry = Object.freeze({
  enabled: false,
  ready: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

/** Reports kept while the SDK loads; beyond this the oldest are dropped (a stuck load must not grow memory). */
const MAX_QUEUED = 1_000;

class DeferredTelemetry implements Telemetry {
  readonly enabled = true;
  readonly captureContent: boolean;
  readonly #ready: Promise<void>;
  #sink: TelemetrySink | undefined;
  #queue: ((sink: TelemetrySink) => void)[] | undefined = [];

  constructor(sink: Promise<TelemetrySink>, settings: TelemetrySettings, logger: Logger) {
    this.captureContent = settings.logContent;
    this.#ready = sink.then(
      (started) => {
        this.#sink = started;
        for (const report of this.#queue ?? []) this.#safely(logger, () => report(started));
        this.#queue = undefined;
      },
      (error: unknown) => {
        // Telemetry that cannot start must not stop the app: say so once and drop reports.
        this.#queue = undefined;
        logger.error('Application Insights could not start; telemetry is off', {
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  onAttempt(report: AttemptReport): void {
    this.#dispatch((sink) => sink.attempt(report));
  }
  onCompleted(report: CompletionReport): void {
    this.#dispatch((sink) => sink.completed(report));
  }
  onFailed(report: FailureReport): void {
    this.#dispatch((sink) => sink.failed(report));
  }
  onBreakerChange(change: BreakerChange): void {
    this.#dispatch((sink) => sink.breakerChanged(change));
  }
  onShed(report: { readonly route: string }): void {
    this.#dispatch((sink) => sink.shed(report));
  }
  onOverloadChange(change: OverloadChange): void {
    this.#dispatch((sink) => sink.overloadChanged(change));
  }

  async flush(): Promise<void> {
    await this.#ready;
    await this.#sink?.flush();
  }

  async shutdown(): Promise<void> {
    await this.#ready;
    await this.#sink?.shutdown();
  }

  #dispatch(report: (sink: TelemetrySink) => void): void {
    if (this.#sink) return report(this.#sink);
    if (this.#queue === undefined) return; // failed to start
    if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
    this.#queue.push(report);
  }

  #safely(logger: Logger, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      logger.warn('Telemetry report failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }
}

type AzureMonitorModule = typeof AzureMonitor;

export interface CreateTelemetryOptions {
  readonly logger?: Logger;
  /** Loads the SDK side; injectable so a test can prove it is not loaded when telemetry is off. */
  readonly load?: () => Promise<AzureMonitorModule>;
}

/**
 * Telemetry for the process: off (nothing loaded) without a connection string, else Application
 * Insights started once. Call once per process (see production.ts): the SDK's providers are global.
 */
export function createTelemetry(settings: TelemetrySettings, options: CreateTelemetryOptions = {}): Telemetry {
  if (settings.connectionString === undefined) return telemetryOff;
  const logger = options.logger ?? silentLogger;
  // A real dynamic import (kept as import() in the CommonJS output): the SDK loads only here.
  const load = options.load ?? (() => import('./azure-monitor.js'));
  return new DeferredTelemetry(
    load().then((sdk) => sdk.startAzureMonitor(settings)),
    settings,
    logger,
  );
}
