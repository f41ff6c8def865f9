import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from '../e2e/backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

describe('GET /api/health/deep on the local host', () => {
  it('needs the function key', async () => {
    const response = await fetch(`${backend.host.url}/api/health/deep`);
    expect(response.status).toBe(401);
  });

  it('probes both regions and answers 200 when all checks pass', async () => {
    const response = await fetch(`${backend.host.url}/api/health/deep`, {
      headers: { 'x-functions-key': FUNCTION_KEY },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks: { region: string; ok: boolean }[] };
    expect(body.status).toBe('ok');
    expect(new Set(body.checks.map((c) => c.region))).toEqual(new Set(['eastus2', 'swedencentral']));
  });

  it('answers 503 with Retry-After when a region is down', async () => {
    backend.secondary.setFault({ kind: 'outage' });
    const response = await fetch(`${backend.host.url}/api/health/deep`, {
      headers: { 'x-functions-key': FUNCTION_KEY },
    });
    backend.secondary.setFault({ kind: 'none' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    const body = (await response.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('health_check_failed');
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
  });
});
