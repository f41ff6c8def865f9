/**
 * The SDK side of telemetry: starts applicationinsights v3 (the Azure Monitor OpenTelemetry distro)
 * once per process and turns the records of ./records.ts into OpenTelemetry spans (dependencies),
 * metrics (customMetrics) and log records with `microsoft.custom_event.name` (customEvents).
 *
 * Loaded only through `import()` from ./index.ts when a connection string is set: this module
 * pulls in applicationinsights, OpenTelemetry and their instrumentations.
 */
import type { TokenCredential } from '@azure/identity';
import {
  context,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Counter,
  type Histogram,
} from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import {
  flushAzureMonitor,
  shutdownAzureMonitor,
  useAzureMonitor,
  type AzureMonitorOpenTelemetryOptions,
} from 'applicationinsights';
import { managedIdentityCredential } from '../managed-identity';
import type { AttemptReport, CompletionReport, FailureReport } from '../chat-report';
import type { BreakerChange } from '../region-health';
import type { OverloadChange } from '../resilience/load-shedder';
import type { TelemetrySettings } from './settings';
import type { TelemetrySink } from './sink';
import {
  attemptMetrics,
  breakerEvent,
  breakerMetric,
  completionMetrics,
  contentEvent,
  continuationEvent,
  dependencyRecord,
  failureEvent,
  METRICS,
  overloadEvent,
  parseTraceParent,
  shedMetric,
  type EventRecord,
  type MetricRecord,
} from './records';

/** Instrumentation scope of everything this backend records. */
const SCOPE = 'azure-chat-backend';

/** The exporter turns a log record with this attribute into a customEvents row named by its value. */
const CUSTOM_EVENT_NAME = 'microsoft.custom_event.name';

/**
 * Distro options for a Functions worker. The host already sends requests (one per invocation),
 * invocation logs (context.log goes through the host), exceptions of failed invocations, performance
 * counters and live metrics; collecting them here too would count them twice. What is left is what
 * only this backend knows: the spans, metrics and events it records by hand.
 */
export function azureMonitorOptions(
  settings: TelemetrySettings,
  options: AzureMonitorStartOptions = {},
): AzureMonitorOpenTelemetryOptions {
  const managedIdentity = options.managedIdentity ?? managedIdentityCredential;
  return {
    azureMonitorExporterOptions: {
      ...options.exporter,
      connectionString: settings.connectionString,
      // Entra ID ingestion (local auth disabled on the resource): tokens from the app's identity.
      ...(settings.entra === undefined ? {} : { credential: managedIdentity(settings.entra.clientId) }),
    },
    // The HTTP instrumentation would record the @azure/functions stream proxy's incoming requests
    // (a duplicate of the host's request) and every upstream call (a duplicate of our dependency).
    instrumentationOptions: {
      http: { enabled: false },
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      console: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
    enableAutoCollectRequests: false,
    enableAutoCollectDependencies: false,
    enableAutoCollectExceptions: false,
    enableAutoCollectPerformance: false,
    enablePerformanceCounters: false,
    enableLiveMetrics: false,
    // Every attempt is kept: the default rate-limited sampler (5 traces/s) would drop attempts
    // under load, and the failover story needs all of them. host.json samples the host's items.
    samplingRatio: 1,
    tracesPerSecond: 0,
  };
}

export type ExporterOptions = NonNullable<AzureMonitorOpenTelemetryOptions['azureMonitorExporterOptions']>;

export interface AzureMonitorStartOptions {
  /** The credential for Entra ID ingestion; default ManagedIdentityCredential (with the client id when given). */
  readonly managedIdentity?: (clientId?: string) => TokenCredential;
  /** More exporter options (tests: trust the local ingestion stand-in, no offline storage). */
  readonly exporter?: Omit<ExporterOptions, 'connectionString' | 'credential'>;
}

let started: TelemetrySink | undefined;

/**
 * Starts Application Insights once per process (its providers are global) and returns the sink;
 * later calls return the same sink, whatever their settings.
 */
export function startAzureMonitor(settings: TelemetrySettings, options: AzureMonitorStartOptions = {}): TelemetrySink {
  if (started === undefined) {
    useAzureMonitor(azureMonitorOptions(settings, options));
    started = new AzureMonitorSink();
  }
  return started;
}

/** The request's context: the function invocation's trace when known, so attempts nest under its request. */
function parentContext(traceParent: string | undefined): Context {
  const parent = parseTraceParent(traceParent);
  if (parent === undefined) return context.active();
  return trace.setSpanContext(ROOT_CONTEXT, { ...parent, isRemote: true });
}

class AzureMonitorSink implements TelemetrySink {
  readonly #tracer = trace.getTracer(SCOPE);
  readonly #logger = logs.getLogger(SCOPE);
  readonly #instruments: ReadonlyMap<string, Histogram | Counter>;

  constructor() {
    const meter = metrics.getMeter(SCOPE);
    this.#instruments = new Map<string, Histogram | Counter>([
      [METRICS.promptTokens, meter.createHistogram(METRICS.promptTokens, { unit: '{token}' })],
      [METRICS.completionTokens, meter.createHistogram(METRICS.completionTokens, { unit: '{token}' })],
      [METRICS.toolCalls, meter.createHistogram(METRICS.toolCalls, { unit: '{call}' })],
      [METRICS.timeToFirstToken, meter.createHistogram(METRICS.timeToFirstToken, { unit: 'ms' })],
      [METRICS.failovers, meter.createCounter(METRICS.failovers)],
      [METRICS.throttles, meter.createCounter(METRICS.throttles)],
      [METRICS.breakerChanges, meter.createCounter(METRICS.breakerChanges)],
      [METRICS.shedRequests, meter.createCounter(METRICS.shedRequests)],
    ]);
  }

  attempt(report: AttemptReport): void {
    const dependency = dependencyRecord(report);
    const span = this.#tracer.startSpan(
      dependency.name,
      { kind: SpanKind.CLIENT, startTime: new Date(dependency.startTime), attributes: dependency.attributes },
      parentContext(report.traceParent),
    );
    span.setStatus({ code: dependency.success ? SpanStatusCode.OK : SpanStatusCode.ERROR });
    span.end(new Date(dependency.endTime));
    for (const metric of attemptMetrics(report)) this.#record(metric);
  }

  completed(report: CompletionReport): void {
    for (const metric of completionMetrics(report)) this.#record(metric);
    const continued = continuationEvent(report);
    if (continued) this.#event(continued);
    const content = contentEvent(report);
    if (content) this.#event(content);
  }

  failed(report: FailureReport): void {
    const event = failureEvent(report);
    if (event) this.#event(event);
  }

  breakerChanged(change: BreakerChange): void {
    this.#record(breakerMetric(change));
    const event = breakerEvent(change);
    if (event) this.#event(event);
  }

  shed(report: { readonly route: string }): void {
    this.#record(shedMetric(report));
  }

  overloadChanged(change: OverloadChange): void {
    this.#event(overloadEvent(change));
  }

  flush(): Promise<void> {
    return flushAzureMonitor();
  }

  async shutdown(): Promise<void> {
    await shutdownAzureMonitor();
    started = undefined;
  }

  #record(metric: MetricRecord): void {
    const instrument = this.#instruments.get(metric.name);
    if (instrument === undefined) return;
    if ('record' in instrument) instrument.record(metric.value, metric.dimensions);
    else instrument.add(metric.value, metric.dimensions);
  }

  #event(event: EventRecord): void {
    this.#logger.emit({
      severityNumber: SeverityNumber.INFO,
      attributes: { [CUSTOM_EVENT_NAME]: event.name, ...event.properties },
      context: parentContext(event.traceParent),
    });
  }
}
