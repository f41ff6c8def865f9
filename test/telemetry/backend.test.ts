/**
 * Telemetry of the whole backend: the local host loads the real function files, production wiring
 * reads APPLICATIONINSIGHTS_CONNECTION_STRING (pointing at the ingestion stand-in) and starts
 * Application Insights itself; a chat through the host must reach the stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionServices } from '../../shared/production';
import { startAzureMonitor } from '../../shared/telemetry/azure-monitor';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';
import { dependencies, metricPoints, startIngestionStandIn, type IngestionStandIn } from '../stand-ins/ingestion';

process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

let ingestion: IngestionStandIn;
let backend: Backend;

beforeAll(async () => {
  ingestion = await startIngestionStandIn();
  // The SDK starts once per process: started here first, with the same connection string, so its
  // exporter trusts the stand-in's self-signed certificate; production wiring then finds it started.
  startAzureMonitor(
    { connectionString: ingestion.connectionString, logContent: false },
    {
      exporter: {
        additionalPolicies: [{ policy: ingestion.trustPolicy, position: 'perCall' }],
        disableOfflineStorage: true,
      },
    },
  );
  backend = await startBackend({ APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString });
});

afterAll(async () => {
  await productionServices().telemetry.shutdown();
  await backend.close();
  await ingestion.close();
  delete process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
});

describe('telemetry through the local host', () => {
  it('sends a dependency per attempt with its region, and token metrics, for a chat that failed over', async () => {
    backend.primary.setFault({ kind: 'outage' });
    const response = await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-functions-key': FUNCTION_KEY,
        'x-request-id': 'e2e-telemetry-1',
      },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { context: { usage: { promptTokens: number } } };

    const { telemetry } = productionServices();
    expect(telemetry.enabled).toBe(true);
    await telemetry.flush();

    const attempts = dependencies(ingestion.envelopes).filter(
      (e) => e.data.baseData.properties?.requestId === 'e2e-telemetry-1',
    );
    expect(attempts.map((e) => [e.data.baseData.properties?.region, e.data.baseData.resultCode])).toEqual([
      ['eastus2', '503'],
      ['swedencentral', '200'],
    ]);
    expect(attempts.every((e) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(e.data.baseData.duration ?? ''))).toBe(true);
    expect(
      metricPoints(ingestion.envelopes, 'chat.prompt_tokens').map((p) => ({ value: p.value, ...p.dimensions })),
    ).toEqual([{ value: body.context.usage.promptTokens, model: 'gpt-4o', region: 'swedencentral' }]);
  });
});
