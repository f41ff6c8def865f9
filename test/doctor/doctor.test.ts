import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHealthDeepHandler } from '../../functions/health-deep-get';
import { fakeEntraToken, startSimulator, type RunningSimulator } from '../../simulator';
import { loadConfig } from '../../shared/config';
import { createCredentials } from '../../shared/credentials';
import { runDoctor, type DoctorCheck, type DoctorOptions } from '../../shared/doctor';
import { formatReport } from '../../shared/doctor-text';
import { getRequest, header, invocation } from '../functions/http';
import { regionsSetting, startTwoRegions, type TwoRegions } from '../shared/two-regions';

let regions: TwoRegions;
beforeEach(async () => {
  regions = await startTwoRegions();
});
afterEach(async () => {
  await regions.close();
});

function doctorFor(settings: Record<string, string> = {}, extra: Partial<DoctorOptions> = {}): DoctorOptions {
  const config = loadConfig({
    CHAT_REGIONS: regionsSetting(regions.primary, regions.secondary),
    AZURE_OPENAI_API_KEY: 'simulator-key',
    ...settings,
  });
  return { config, credentials: createCredentials(config), timeoutMs: 5_000, ...extra };
}

function find(checks: readonly DoctorCheck[], region: string, check: string): DoctorCheck {
  const found = checks.find((c) => c.region === region && c.check === check);
  if (!found) throw new Error(`no check ${region} ${check} in ${JSON.stringify(checks)}`);
  return found;
}

describe('runDoctor', () => {
  it('passes every check of two healthy regions: endpoint, credential and one completion per deployment', async () => {
    const progress: DoctorCheck[] = [];
    const report = await runDoctor(doctorFor({}, { onCheck: (c) => progress.push(c) }));
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => `${c.region} ${c.check}`).sort()).toEqual([
      'eastus2 completion gpt-4o',
      'eastus2 completion gpt-4o-mini',
      'eastus2 credential',
      'eastus2 endpoint',
      'swedencentral completion gpt-4o',
      'swedencentral completion gpt-4o-mini',
      'swedencentral credential',
      'swedencentral endpoint',
    ]);
    expect(progress).toHaveLength(8);
    // One token per completion check, and the simulator saw exactly those calls.
    expect(regions.primary.stats().total).toBe(2);
    expect(regions.secondary.stats().total).toBe(2);
    expect(formatReport(report)).toContain('All 8 checks passed');
  });

  it('reports a wrong key as key_rejected with the backend diagnosis and never prints the key', async () => {
    const report = await runDoctor(doctorFor({ AZURE_OPENAI_API_KEY: 'wrong-secret-key-123' }));
    expect(report.ok).toBe(false);
    const check = find(report.checks, 'eastus2', 'completion gpt-4o');
    expect(check.code).toBe('key_rejected');
    expect(check.diagnosis).toContain('AZURE_OPENAI_API_KEY');
    // The key itself is present, so the credential check passes; the resource rejects it.
    expect(find(report.checks, 'eastus2', 'credential').ok).toBe(true);
    expect(JSON.stringify(report)).not.toContain('wrong-secret-key-123');
    expect(formatReport(report)).not.toContain('wrong-secret-key-123');
  });

  it('reports a missing deployment as deployment_not_found and shows the region mapping', async () => {
    const regionsJson = JSON.stringify([
      { name: 'eastus2', endpoint: `${regions.primary.url}/`, deployments: { 'gpt-4o': 'gpt-4o-prod' } },
    ]);
    const report = await runDoctor(doctorFor({ CHAT_REGIONS: regionsJson }));
    const check = find(report.checks, 'eastus2', 'completion gpt-4o');
    expect(check).toMatchObject({ ok: false, code: 'deployment_not_found' });
    expect(check.diagnosis).toContain('"gpt-4o-prod"');
    expect(check.diagnosis).toContain('gpt-4o -> gpt-4o-prod');
  });

  it('reports a region that refuses connections at the endpoint check and skips its other checks', async () => {
    const gone = await startSimulator({ port: 0, region: 'swedencentral' });
    await gone.close();
    const report = await runDoctor(doctorFor({ CHAT_REGIONS: regionsSetting(regions.primary, gone) }));
    expect(report.ok).toBe(false);
    const endpoint = find(report.checks, 'swedencentral', 'endpoint');
    expect(endpoint).toMatchObject({ ok: false, code: 'region_unavailable' });
    expect(endpoint.diagnosis).toContain('ECONNREFUSED');
    // The endpoint is a local simulator (loopback): the diagnosis says how to start it.
    expect(endpoint.diagnosis).toContain('npm start');
    expect(endpoint.diagnosis).toContain('npm run simulators');
    expect(report.checks.filter((c) => c.region === 'swedencentral')).toHaveLength(1);
    expect(report.checks.filter((c) => c.region === 'eastus2').every((c) => c.ok)).toBe(true);
    expect(formatReport(report)).toMatch(/later checks skipped: the endpoint check failed/);
  });

  it('reports a region in an outage (503) at the completion checks', async () => {
    regions.primary.setFault({ kind: 'outage' });
    const report = await runDoctor(doctorFor());
    expect(find(report.checks, 'eastus2', 'endpoint').ok).toBe(true);
    expect(find(report.checks, 'eastus2', 'completion gpt-4o').code).toBe('region_unavailable');
  });

  it('reports an endpoint whose host does not resolve as endpoint_not_found', async () => {
    const regionsJson = JSON.stringify([
      { name: 'eastus2', endpoint: 'https://no-such-resource.invalid/', deployments: { 'gpt-4o': 'gpt-4o' } },
    ]);
    const report = await runDoctor(doctorFor({ CHAT_REGIONS: regionsJson }));
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ check: 'endpoint', ok: false, code: 'endpoint_not_found' });
  });
});

describe('runDoctor with a managed identity', () => {
  const PRINCIPAL = '0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d';
  let noRole: RunningSimulator;
  beforeEach(async () => {
    noRole = await startSimulator({ port: 0, region: 'eastus2', bearer: 'no-role' });
  });
  afterEach(async () => {
    await noRole.close();
  });

  function identity(fail?: Error): TokenCredential {
    return {
      getToken(): Promise<AccessToken> {
        if (fail) return Promise.reject(fail);
        return Promise.resolve({
          token: fakeEntraToken({ oid: PRINCIPAL }),
          expiresOnTimestamp: Date.now() + 3_600_000,
        });
      },
    };
  }

  function keyless(credential: TokenCredential): DoctorOptions {
    const config = loadConfig({
      CHAT_REGIONS: JSON.stringify([
        { name: 'eastus2', endpoint: `${noRole.url}/`, deployments: { 'gpt-4o': 'gpt-4o' } },
      ]),
      CHAT_AUTH_MODE: 'managed-identity',
    });
    return { config, credentials: createCredentials(config, { credential }), timeoutMs: 5_000 };
  }

  it('reports a token without a role as permission_denied naming the principal and the role', async () => {
    const report = await runDoctor(keyless(identity()));
    const credential = find(report.checks, 'eastus2', 'credential');
    expect(credential.ok).toBe(true);
    expect(credential.detail).toContain(PRINCIPAL);
    const completion = find(report.checks, 'eastus2', 'completion gpt-4o');
    expect(completion.code).toBe('permission_denied');
    expect(completion.diagnosis).toContain(PRINCIPAL);
    expect(completion.diagnosis).toContain('Cognitive Services OpenAI User');
  });

  it('reports an identity that cannot get a token at the credential check and skips the completions', async () => {
    const unavailable = Object.assign(new Error('ManagedIdentityCredential: no managed identity endpoint'), {
      name: 'CredentialUnavailableError',
    });
    const report = await runDoctor(keyless(identity(unavailable)));
    expect(report.checks.map((c) => [c.check, c.ok, c.code])).toEqual([
      ['endpoint', true, undefined],
      ['credential', false, 'credential_unavailable'],
    ]);
    expect(report.checks[1]?.diagnosis).toContain('az login');
  });
});

describe('GET /api/health/deep', () => {
  it('answers 200 with every check when all pass', async () => {
    const { config, credentials } = doctorFor();
    const handler = createHealthDeepHandler({ config, credentials });
    const response = await handler(getRequest('/api/health/deep'), invocation());
    expect(response.status).toBe(200);
    expect(header(response, 'cache-control')).toBe('no-store');
    const body = response.jsonBody as { status: string; checks: DoctorCheck[]; error?: unknown };
    expect(body.status).toBe('ok');
    expect(body.checks).toHaveLength(8);
    expect(body.error).toBeUndefined();
  });

  it('answers 503 with Retry-After and the error body when a check fails, without the key', async () => {
    const { config, credentials } = doctorFor({ AZURE_OPENAI_API_KEY: 'leaky-key-456' });
    const handler = createHealthDeepHandler({ config, credentials });
    const response = await handler(getRequest('/api/health/deep', { 'x-request-id': 'deep-1' }), invocation());
    expect(response.status).toBe(503);
    expect(header(response, 'retry-after')).toBe('30');
    const body = response.jsonBody as {
      status: string;
      checks: DoctorCheck[];
      error: { code: string; message: string; requestId: string };
    };
    expect(body.status).toBe('failing');
    expect(body.error).toMatchObject({ code: 'health_check_failed', requestId: 'deep-1' });
    expect(body.error.message).toContain('eastus2 completion gpt-4o (key_rejected)');
    expect(body.checks.find((c) => c.code === 'key_rejected')?.diagnosis).toBeTruthy();
    expect(JSON.stringify(body)).not.toContain('leaky-key-456');
  });

  it('leaves diagnoses and details out where diagnostics are not exposed (in Azure)', async () => {
    const { config, credentials } = doctorFor({
      AZURE_OPENAI_API_KEY: 'wrong',
      CHAT_EXPOSE_DIAGNOSTICS: 'false',
    });
    const handler = createHealthDeepHandler({ config, credentials });
    const response = await handler(getRequest('/api/health/deep'), invocation());
    expect(response.status).toBe(503);
    const body = response.jsonBody as { checks: DoctorCheck[] };
    expect(body.checks.some((c) => c.code === 'key_rejected')).toBe(true);
    expect(body.checks.every((c) => c.diagnosis === undefined && c.detail === undefined)).toBe(true);
  });
});
