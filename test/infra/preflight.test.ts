import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { repoRoot } from './arm.js';

// scripts/infra/preflight.mjs decides from the JSON the az CLI returns; these are its shapes
// (az cognitiveservices model list / usage list / account list-deleted, az keyvault list-deleted).

const MODELS = [
  {
    modelName: 'gpt-5.2',
    modelVersion: '2025-12-11',
    deploymentName: 'gpt-5.2',
    skuName: 'GlobalStandard',
    capacity: 10,
  },
];
const offered = (version: string, extra: Record<string, unknown> = {}) => ({
  kind: 'OpenAI',
  skuName: 'S0',
  model: {
    format: 'OpenAI',
    name: 'gpt-5.2',
    version,
    skus: [{ name: 'GlobalStandard', usageName: 'OpenAI.GlobalStandard.gpt-5.2', capacity: { default: 10 } }],
    ...extra,
  },
});
const usage = (currentValue: number, limit: number) => [
  { name: { value: 'OpenAI.GlobalStandard.gpt-5.2' }, currentValue, limit, unit: 'Count' },
];

interface Case {
  readonly models?: unknown[];
  readonly usage?: unknown[];
  readonly existing?: unknown[];
  readonly deletedAccounts?: unknown[];
  readonly deletedVaults?: unknown[];
  readonly restore?: boolean;
  /** How the compiled parameter file is shaped: `--outfile`'s plain file, or `--stdout`'s wrapper. */
  readonly parametersShape?: 'file' | 'stdout';
  readonly windowDays?: number;
}

/** The parameter file as Bicep compiles it: `build-params --outfile` writes it as is, `--stdout` wraps it. */
function compiledParameters(shape: 'file' | 'stdout'): unknown {
  const file = {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#',
    contentVersion: '1.0.0.0',
    parameters: { models: { value: MODELS } },
  };
  return shape === 'file' ? file : { parametersJson: JSON.stringify(file, null, 2), templateJson: '{}' };
}

function preflight(c: Case): { status: number | null; stderr: string; restored: string } {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-'));
  const write = (name: string, value: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(value));
    return join(dir, name);
  };
  const regions = ['eastus2', 'swedencentral'].flatMap((r) => [
    '--region',
    `${r}=${write(`${r}.models.json`, c.models ?? [offered('2025-12-11')])},${write(`${r}.usage.json`, c.usage ?? usage(0, 100))}`,
  ]);
  const result = spawnSync(
    'node',
    [
      join(repoRoot, 'scripts/infra/preflight.mjs'),
      '--parameters',
      write('parameters.json', compiledParameters(c.parametersShape ?? 'file')),
      ...regions,
      '--existing',
      write('existing.json', c.existing ?? []),
      '--deleted-accounts',
      write('deleted-accounts.json', c.deletedAccounts ?? []),
      '--deleted-vaults',
      write('deleted-vaults.json', c.deletedVaults ?? []),
      '--resource-group',
      'rg-demo1',
      '--restore-out',
      join(dir, 'restore.txt'),
      '--now',
      '2026-11-30T00:00:00Z',
      ...(c.restore ? ['--restore'] : []),
      ...(c.windowDays === undefined ? [] : ['--retirement-window-days', String(c.windowDays)]),
    ],
    { encoding: 'utf8' },
  );
  let restored = '';
  try {
    restored = readFileSync(join(dir, 'restore.txt'), 'utf8');
  } catch {
    restored = '<none>';
  }
  return { status: result.status, stderr: result.stderr, restored };
}

const deletedAccount = {
  id: '/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus2/resourceGroups/rg-demo1/deletedAccounts/oai-abc-eastus2',
  name: 'oai-abc-eastus2',
  location: 'eastus2',
  properties: { deletionDate: '2026-11-29T10:00:00Z' },
};
const deletedVault = {
  name: 'kv-abc',
  properties: {
    vaultId: '/subscriptions/s/resourceGroups/rg-demo1/providers/Microsoft.KeyVault/vaults/kv-abc',
    location: 'eastus2',
    scheduledPurgeDate: '2026-12-06T10:00:00Z',
  },
};

describe('scripts/infra/preflight.mjs', () => {
  it('passes when the version is offered in both regions with quota left', () => {
    const run = preflight({});
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('preflight: ok: 1 model(s) deployable with quota in 2 region(s)');
  });

  it.each<[string, Case, RegExp]>([
    [
      'a version the region does not offer, naming the ones it does',
      { models: [offered('2026-03-01')] },
      /gpt-5\.2 2025-12-11 \(GlobalStandard\) in eastus2 cannot be deployed: that version is not offered there\. Versions offered as GlobalStandard: 2026-03-01/,
    ],
    [
      'a retired version',
      { models: [offered('2025-12-11', { deprecation: { inference: '2026-11-01T00:00:00Z' } })] },
      /gpt-5\.2 2025-12-11 \(GlobalStandard\) in eastus2 is retired \(2026-11-01\)/,
    ],
    [
      'quota too short',
      { usage: usage(95, 100) },
      /needs 10 \(thousand tokens per minute\) of OpenAI\.GlobalStandard\.gpt-5\.2; 5 free of 100 \(95 in use\)/,
    ],
    ['no quota at all', { usage: [] }, /has no quota named OpenAI\.GlobalStandard\.gpt-5\.2 there/],
    [
      'a soft-deleted account, naming the purge command and --restore',
      { deletedAccounts: [deletedAccount], usage: usage(100, 100) },
      /az cognitiveservices account purge --location eastus2 --resource-group rg-demo1 --name oai-abc-eastus2[\s\S]*Rerun with --restore/,
    ],
    [
      'a purge-protected soft-deleted vault, which can only be recovered',
      { deletedVaults: [deletedVault], usage: usage(100, 100) },
      /Key Vault kv-abc \(eastus2\), purge-protected until 2026-12-06: it cannot be purged; recover it/,
    ],
  ])('stops on %s', (_name, c, message) => {
    const run = preflight(c);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('nothing was deployed');
  });

  it('reads the parameters as `bicep build-params --stdout` prints them (wrapped in parametersJson)', () => {
    const run = preflight({ parametersShape: 'stdout' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('preflight: ok: 1 model(s) deployable');
  });

  it('stops on a version that retires within the window (60 days unless set), naming model, version, region and date', () => {
    const retiring = offered('2025-12-11', {
      skus: [
        { name: 'GlobalStandard', usageName: 'OpenAI.GlobalStandard.gpt-5.2', deprecationDate: '2026-12-12T00:00:00Z' },
      ],
    });
    const run = preflight({ models: [retiring] });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'preflight: gpt-5.2 2025-12-11 (GlobalStandard) in eastus2 retires on 2026-12-12, within the 60-day window',
    );
    expect(run.stderr).toContain('in swedencentral retires on 2026-12-12');
    expect(preflight({ models: [retiring], windowDays: 10 }).status).toBe(0);
    expect(preflight({ models: [retiring], windowDays: 13 }).status).toBe(1);
  });

  it.each(['Deprecating', 'Deprecated'])('stops on a version whose lifecycle is %s, whatever its dates', (status) => {
    const run = preflight({ models: [offered('2025-12-11', { lifecycleStatus: status })] });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`gpt-5.2 2025-12-11 (GlobalStandard) in eastus2 is ${status}`);
  });

  it('exits 3 when soft-deleted resources are the only problem, so preflight.sh can offer to recover them', () => {
    expect(preflight({ deletedVaults: [deletedVault] }).status).toBe(3);
    expect(preflight({ deletedVaults: [deletedVault], usage: [] }).status).toBe(1);
  });

  it("counts this environment's own deployments as free quota on a redeploy", () => {
    const existing = ['eastus2', 'swedencentral'].map((region) => ({
      region,
      deployment: { sku: { name: 'GlobalStandard', capacity: 10 }, properties: { model: { name: 'gpt-5.2' } } },
    }));
    expect(preflight({ usage: usage(95, 100) }).status).toBe(1);
    expect(preflight({ usage: usage(95, 100), existing }).status).toBe(0);
  });

  it('lists the soft-deleted names of this resource group for the deployment to recover with --restore, and no other group', () => {
    const otherGroup = { ...deletedAccount, id: deletedAccount.id.replace('rg-demo1', 'rg-other'), name: 'oai-other' };
    const run = preflight({
      deletedAccounts: [deletedAccount, otherGroup],
      deletedVaults: [deletedVault],
      restore: true,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.restored).toBe('oai-abc-eastus2\nkv-abc\n');
    expect(run.stderr).toContain('recovering soft-deleted oai-abc-eastus2, kv-abc');
  });
});
