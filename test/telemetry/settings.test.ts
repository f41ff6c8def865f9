/** Telemetry settings, SDK options and the pure decisions behind what is recorded. */
import { describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/identity';
import type { AttemptReport } from '../../shared/chat-service';
import { ConfigError } from '../../shared/config';
import { ChatError } from '../../shared/errors';
import { createTelemetry, telemetrySettings, type TelemetrySink } from '../../shared/telemetry';
import { azureMonitorOptions } from '../../shared/telemetry/azure-monitor';
import { attemptOutcome, dependencyRecord, everyRegionFailed, parseTraceParent } from '../../shared/telemetry/records';
import { ZERO_IKEY } from '../stand-ins/ingestion';
import { hello, startTwoRegions } from '../shared/two-regions';

const connectionString = `InstrumentationKey=${ZERO_IKEY};IngestionEndpoint=https://127.0.0.1:1/`;

describe('telemetry settings', () => {
  it.each([
    [{}, { logContent: false }],
    [{ APPLICATIONINSIGHTS_CONNECTION_STRING: '  ' }, { logContent: false }],
    [{ APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString }, { connectionString, logContent: false }],
    [{ CHAT_LOG_CONTENT: 'true' }, { logContent: true }],
    [{ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' }, { entra: {}, logContent: false }],
    [
      { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=1111-2222' },
      { entra: { clientId: '1111-2222' }, logContent: false },
    ],
  ])('reads %j as %j', (env, expected) => {
    expect(telemetrySettings(env)).toEqual(expected);
  });

  it.each([
    [{ CHAT_LOG_CONTENT: 'yes' }, 'CHAT_LOG_CONTENT'],
    [{ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=1111' }, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'],
  ])('rejects %j naming the setting', (env, setting) => {
    expect(() => telemetrySettings(env)).toThrow(ConfigError);
    expect(() => telemetrySettings(env)).toThrow(setting);
  });
});

describe('Application Insights options for a Functions worker', () => {
  it('leaves requests, console, exceptions, performance counters and live metrics to the Functions host', () => {
    const options = azureMonitorOptions({ connectionString, logContent: false });
    expect(options.azureMonitorExporterOptions).toEqual({ connectionString });
    expect(options.instrumentationOptions?.http).toEqual({ enabled: false });
    expect(options.instrumentationOptions?.console).toEqual({ enabled: false });
    expect(options.instrumentationOptions?.azureSdk).toEqual({ enabled: false });
    expect(options).toMatchObject({
      enableAutoCollectRequests: false,
      enableAutoCollectExceptions: false,
      enableAutoCollectPerformance: false,
      enablePerformanceCounters: false,
      enableLiveMetrics: false,
      samplingRatio: 1,
      tracesPerSecond: 0,
    });
  });

  it.each([
    ['a user-assigned identity', { clientId: 'client-1' }, ['client-1']],
    ['the system-assigned identity', {}, [undefined]],
  ])('uses %s for Entra ID ingestion when the authentication string asks for it', (_, entra, calls) => {
    const credential: TokenCredential = { getToken: () => Promise.resolve(null) };
    const asked: (string | undefined)[] = [];
    const options = azureMonitorOptions(
      { connectionString, entra, logContent: false },
      {
        managedIdentity: (clientId) => {
          asked.push(clientId);
          return credential;
        },
      },
    );
    expect(asked).toEqual(calls);
    expect(options.azureMonitorExporterOptions?.credential).toBe(credential);
  });
});

describe('what an attempt came to', () => {
  const error = (code: ConstructorParameters<typeof ChatError>[0]) => new ChatError(code, { message: code });
  it.each([
    [200, undefined, 'success'],
    [429, error('throttled'), 'throttled'],
    [429, error('quota_exhausted'), 'throttled'],
    ['timeout', error('upstream_timeout'), 'timeout'],
    [408, error('upstream_timeout'), 'timeout'],
    [503, error('region_unavailable'), 'failover'],
    ['connection-error', error('region_unavailable'), 'failover'],
    [401, error('key_rejected'), 'failover'],
    [400, error('content_filtered'), 'rejected'],
    [404, error('deployment_not_found'), 'rejected'],
  ] as const)('calls status %s with %s "%s"', (status, err, outcome) => {
    expect(attemptOutcome({ status, ...(err ? { error: err } : {}) })).toBe(outcome);
  });

  it.each([
    ['all_regions_failed', true],
    ['all_regions_throttled', true],
    ['key_rejected', true],
    ['content_filtered', false],
    ['client_closed', false],
  ] as const)('treats a %s failure as every region failed: %s', (code, expected) => {
    expect(everyRegionFailed({ error: new ChatError(code, { message: code }) })).toBe(expected);
  });

  it('puts the endpoint without query or credentials into the dependency, and never message text', () => {
    const attempt: AttemptReport = {
      region: 'eastus2',
      status: 200,
      durationMs: 120,
      attemptNumber: 1,
      requestId: 'r-1',
      model: 'gpt-4o',
      deployment: 'gpt-4o-prod',
      endpoint: 'https://user:secret@my-aoai.openai.azure.com/?api-key=secret',
      endedAt: 1_000_000,
    };
    const record = dependencyRecord(attempt);
    expect(record).toMatchObject({ startTime: 999_880, endTime: 1_000_000, success: true });
    expect(record.attributes['url.full']).toBe('https://my-aoai.openai.azure.com/openai/v1/chat/completions');
    expect(JSON.stringify(record)).not.toContain('secret');
  });
});

describe('trace parents', () => {
  it.each([
    ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', { spanId: 'b7ad6b7169203331', traceFlags: 1 }],
    ['00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-00', { spanId: 'b7ad6b7169203331', traceFlags: 0 }],
    ['', undefined],
    [undefined, undefined],
    ['00-00000000000000000000000000000000-b7ad6b7169203331-01', undefined],
    ['00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', undefined],
    ['ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', undefined],
    ['not a traceparent', undefined],
  ])('parses %j', (value, expected) => {
    const parsed = parseTraceParent(value);
    if (expected === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', ...expected });
  });
});

describe('creating telemetry', () => {
  function fakeSink() {
    const calls: string[] = [];
    const sink: TelemetrySink = {
      attempt: (r) => calls.push(`attempt ${r.region}`),
      completed: (r) => calls.push(`completed ${r.region}`),
      failed: (r) => calls.push(`failed ${r.error.code}`),
      breakerChanged: (c) => calls.push(`breaker ${c.region} ${c.to}`),
      shed: (r) => calls.push(`shed ${r.route}`),
      overloadChanged: (c) => calls.push(`overload ${c.shedding}`),
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    return { sink, calls };
  }

  it('is off and never loads the SDK without a connection string', async () => {
    let loads = 0;
    const telemetry = createTelemetry(telemetrySettings({}), {
      load: () => {
        loads++;
        return Promise.reject(new Error('must not load'));
      },
    });
    await telemetry.flush();
    expect(telemetry.enabled).toBe(false);
    expect(loads).toBe(0);
  });

  it('replays what was reported while the SDK was loading, in order', async () => {
    const { sink, calls } = fakeSink();
    const telemetry = createTelemetry(
      { connectionString, logContent: false },
      { load: () => Promise.resolve({ startAzureMonitor: () => sink, azureMonitorOptions }) },
    );
    telemetry.onBreakerChange?.({ region: 'eastus2', from: 'closed', to: 'open' });
    expect(calls).toEqual([]);
    await telemetry.ready();
    telemetry.onBreakerChange?.({ region: 'eastus2', from: 'open', to: 'half-open' });
    expect(calls).toEqual(['breaker eastus2 open', 'breaker eastus2 half-open']);
  });

  it('stays off and logs once when the SDK cannot start', async () => {
    const errors: string[] = [];
    const telemetry = createTelemetry(
      { connectionString, logContent: false },
      {
        load: () => Promise.reject(new Error('no module')),
        logger: { info() {}, warn() {}, error: (m) => errors.push(m) },
      },
    );
    telemetry.onBreakerChange?.({ region: 'eastus2', from: 'closed', to: 'open' });
    await telemetry.ready();
    await telemetry.flush();
    expect(errors).toEqual(['Application Insights could not start; telemetry is off']);
  });

  it('answers the chat even when the telemetry observer throws', async () => {
    const regions = await startTwoRegions();
    try {
      const chat = regions.service(
        {},
        {
          observer: {
            onAttempt: () => {
              throw new Error('telemetry bug');
            },
            onCompleted: () => {
              throw new Error('telemetry bug');
            },
          },
        },
      );
      const result = await chat.complete({ ...hello, requestId: 'r-throws' });
      expect(result.region).toBe('eastus2');
    } finally {
      await regions.close();
    }
  });
});
