/**
 * What this backend tells Application Insights, as plain data: names, dimensions and the pure
 * decisions behind them (how an attempt ended, whether every region failed). The SDK-facing code
 * (./azure-monitor.ts) only turns these records into spans, metrics and log records; keeping the
 * mapping here keeps it testable without the SDK and keeps content and secrets out by construction.
 */
import type { AttemptReport, CompletionReport, FailureReport } from '../chat-report';
import type { BreakerChange } from '../region-health';
import type { OverloadChange } from '../resilience/load-shedder';

/** Metric names (customMetrics.name). Tokens and time are histograms; the rest are counters. */
export const METRICS = {
  /** Prompt tokens per answered request, by model and region. */
  promptTokens: 'chat.prompt_tokens',
  /** Completion tokens per answered request, by model and region. */
  completionTokens: 'chat.completion_tokens',
  /** Function calls per answered request that made any, by model and region. */
  toolCalls: 'chat.tool_calls',
  /** Request start (all attempts) to the first answer byte, ms, by model, region and streamed. */
  timeToFirstToken: 'chat.time_to_first_token',
  /** Attempts that failed in a way that moves the request to the next region, by model, region and reason. */
  failovers: 'chat.failovers',
  /** Attempts answered 429, by model and region. */
  throttles: 'chat.throttles',
  /** Circuit breaker transitions, by region, from and to. */
  breakerChanges: 'chat.breaker_changes',
  /** Requests turned away by the load shedder (503 overloaded), by route (the function's name). */
  shedRequests: 'chat.shed_requests',
} as const;

/** Event names (customEvents.name). */
export const EVENTS = {
  breakerOpened: 'RegionBreakerOpened',
  breakerClosed: 'RegionBreakerClosed',
  allRegionsFailed: 'AllRegionsFailed',
  /** A streamed answer that broke after its first byte and was continued from another region. */
  streamContinued: 'StreamContinued',
  /** The instance started turning requests away (load shedding), and stopped again. */
  overloaded: 'InstanceOverloaded',
  recovered: 'InstanceRecovered',
  /** Prompt and answer text: only with CHAT_LOG_CONTENT=true. */
  content: 'ChatContent',
} as const;

/** Why an upstream attempt ended: `failover` is any other failure worth trying the next region for. */
export type AttemptOutcome = 'success' | 'failover' | 'throttled' | 'timeout' | 'rejected';

export function attemptOutcome(attempt: Pick<AttemptReport, 'status' | 'error'>): AttemptOutcome {
  if (attempt.status === 200 && attempt.error === undefined) return 'success';
  const code = attempt.error?.code;
  if (code === 'throttled' || code === 'quota_exhausted') return 'throttled';
  if (code === 'upstream_timeout' || attempt.status === 'timeout') return 'timeout';
  // Content filter, bad request, missing deployment: the loop stops; no other region is tried.
  return attempt.error?.failover === false ? 'rejected' : 'failover';
}

/**
 * Whether a failed request means no region could serve: the failover loop's verdicts, or a
 * failure worth failing over for that escaped the loop (the same auth problem in every region).
 * A content filter or a bad request is the caller's problem, not an outage.
 */
export function everyRegionFailed(report: Pick<FailureReport, 'error'>): boolean {
  const { error } = report;
  return error.code === 'all_regions_failed' || error.code === 'all_regions_throttled' || error.failover;
}

export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/** Parses a W3C `traceparent` (version 00); undefined when absent or malformed (all-zero ids are invalid). */
export function parseTraceParent(value: string | undefined): TraceParent | undefined {
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value?.trim().toLowerCase() ?? '');
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}

type Attributes = Record<string, string | number | boolean>;

export interface DependencyRecord {
  /** Shown as the dependency name only when there is no URL (the exporter names HTTP dependencies `POST /path`). */
  readonly name: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly success: boolean;
  /** OpenTelemetry HTTP client attributes (type, target, data, resultCode) plus customDimensions. */
  readonly attributes: Attributes;
}

/** One dependency per upstream attempt: where it went, what it asked for, how it ended. Never content. */
export function dependencyRecord(attempt: AttemptReport): DependencyRecord {
  const outcome = attemptOutcome(attempt);
  const url = new URL('openai/v1/chat/completions', attempt.endpoint);
  return {
    name: `chat ${attempt.deployment}`,
    startTime: attempt.endedAt - attempt.durationMs,
    endTime: attempt.endedAt,
    success: outcome === 'success',
    attributes: {
      'http.request.method': 'POST',
      // Origin and path only: the v1 API carries no key or api-version in the URL.
      'url.full': `${url.origin}${url.pathname}`,
      'server.address': url.hostname,
      ...(typeof attempt.status === 'number' ? { 'http.response.status_code': attempt.status } : {}),
      region: attempt.region,
      deployment: attempt.deployment,
      model: attempt.model,
      attempt: attempt.attemptNumber,
      outcome,
      status: String(attempt.status),
      requestId: attempt.requestId,
      ...(attempt.upstreamRequestId === undefined ? {} : { upstreamRequestId: attempt.upstreamRequestId }),
      ...(attempt.error === undefined ? {} : { errorCode: attempt.error.code }),
      // Per request, so Kusto can take percentiles (the metric is pre-aggregated).
      ...(attempt.firstTokenMs === undefined ? {} : { timeToFirstTokenMs: Math.round(attempt.firstTokenMs) }),
    },
  };
}

export interface MetricRecord {
  readonly name: (typeof METRICS)[keyof typeof METRICS];
  readonly value: number;
  readonly dimensions: Attributes;
}

/** Counters an attempt adds to: failovers (any failure that sends the request on) and throttles. */
export function attemptMetrics(attempt: AttemptReport): MetricRecord[] {
  const outcome = attemptOutcome(attempt);
  const where = { model: attempt.model, region: attempt.region };
  const metrics: MetricRecord[] = [];
  if (outcome === 'throttled') metrics.push({ name: METRICS.throttles, value: 1, dimensions: where });
  if (outcome === 'throttled' || outcome === 'timeout' || outcome === 'failover')
    metrics.push({ name: METRICS.failovers, value: 1, dimensions: { ...where, reason: outcome } });
  return metrics;
}

/** Tokens and time to first token of an answered request. */
export function completionMetrics(report: CompletionReport): MetricRecord[] {
  const where = { model: report.model, region: report.region };
  const metrics: MetricRecord[] = [
    {
      name: METRICS.timeToFirstToken,
      value: Math.round(report.firstTokenMs),
      dimensions: { ...where, streamed: report.streamed },
    },
  ];
  if (report.usage) {
    metrics.push({ name: METRICS.promptTokens, value: report.usage.prompt_tokens, dimensions: where });
    metrics.push({ name: METRICS.completionTokens, value: report.usage.completion_tokens, dimensions: where });
  }
  if (report.toolCalls) metrics.push({ name: METRICS.toolCalls, value: report.toolCalls, dimensions: where });
  return metrics;
}

export interface EventRecord {
  readonly name: (typeof EVENTS)[keyof typeof EVENTS];
  readonly properties: Attributes;
  readonly traceParent?: string;
}

export function breakerMetric(change: BreakerChange): MetricRecord {
  return {
    name: METRICS.breakerChanges,
    value: 1,
    dimensions: { region: change.region, from: change.from, to: change.to },
  };
}

/** An event when a breaker opens (region kept out) or closes again (region back); none for half-open. */
export function breakerEvent(change: BreakerChange): EventRecord | undefined {
  const name = change.to === 'open' ? EVENTS.breakerOpened : change.to === 'closed' ? EVENTS.breakerClosed : undefined;
  return name === undefined ? undefined : { name, properties: { region: change.region, from: change.from } };
}

/** One request the load shedder turned away. */
export function shedMetric(report: { readonly route: string }): MetricRecord {
  return { name: METRICS.shedRequests, value: 1, dimensions: { route: report.route } };
}

/** An event when the instance starts shedding (with its lag) or stops (with how many it turned away). */
export function overloadEvent(change: OverloadChange): EventRecord {
  return {
    name: change.shedding ? EVENTS.overloaded : EVENTS.recovered,
    properties: { lagMs: change.lagMs, thresholdMs: change.thresholdMs, shed: change.shed },
  };
}

/** An event when no region could serve a request, with what each region answered. */
export function failureEvent(report: FailureReport): EventRecord | undefined {
  if (!everyRegionFailed(report)) return undefined;
  const { error } = report;
  return requestEvent(EVENTS.allRegionsFailed, report, {
    code: error.code,
    regions: report.regions.join(','),
    // e.g. "eastus2:503 region_unavailable; swedencentral:skipped-open"
    attempts: (error.attempts ?? []).map((a) => `${a.region}:${a.status}${a.code ? ` ${a.code}` : ''}`).join('; '),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}

/** An event when a stream was continued from another region: which region sent which part, and how it ended. */
export function continuationEvent(report: CompletionReport): EventRecord | undefined {
  if (report.parts === undefined || report.parts.length < 2) return undefined;
  return requestEvent(EVENTS.streamContinued, report, {
    region: report.region,
    outcome: report.outcome,
    continuations: report.parts.length - 1,
    // e.g. "eastus2:57 chars reset; swedencentral:180 chars finished"
    parts: report.parts.map((p) => `${p.region}:${p.chars} chars ${p.ended}`).join('; '),
  });
}

/** Prompt and answer of an answered request: only built when content logging is on. */
export function contentEvent(report: CompletionReport): EventRecord | undefined {
  if (report.content === undefined) return undefined;
  return requestEvent(EVENTS.content, report, {
    region: report.region,
    prompt: JSON.stringify(report.content.messages),
    answer: report.content.answer,
  });
}

/** An event about one request: parented on its trace, with its request id and model. */
function requestEvent(
  name: EventRecord['name'],
  request: { readonly requestId: string; readonly model: string; readonly traceParent?: string },
  properties: Attributes,
): EventRecord {
  return {
    name,
    ...(request.traceParent === undefined ? {} : { traceParent: request.traceParent }),
    properties: { requestId: request.requestId, model: request.model, ...properties },
  };
}
