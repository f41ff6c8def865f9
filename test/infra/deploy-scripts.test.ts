import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config.js';
import { repoRoot } from './arm.js';

/** PATH without any folder holding an `az`, as on a machine without the Azure CLI (node stays). */
const pathWithoutAz = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '' && !existsSync(join(dir, 'az')))
  .join(delimiter);

/** Runs a script under bash with no az on PATH. */
function runScript(script: string, args: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const env: NodeJS.ProcessEnv = { PATH: pathWithoutAz, HOME: tmpdir() };
  const result = spawnSync('bash', [join(repoRoot, script), ...args], { cwd: repoRoot, env, encoding: 'utf8' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}
const commands = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('+ '));

describe('scripts/infra/deploy.sh --dry-run', () => {
  it('prints the subscription deployment with the template, the parameter file, the location and the name, without az', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'demo1', '--location', 'eastus2']);
    expect(run.status, run.stderr).toBe(0);
    const deploy = commands(run.stdout).find((c) => c.startsWith('+ az deployment sub create'));
    expect(deploy).toBe(
      '+ az deployment sub create --name demo1 --location eastus2 --template-file infra/main.bicep' +
        ' --parameters infra/main.bicepparam --parameters environmentName=demo1 primaryLocation=eastus2' +
        ' secondaryLocation=swedencentral developerPrincipalId=<signed-in-user-object-id>' +
        ' --query properties.outputs --output json',
    );
  });

  it('prints every step in order: infra, build, package, one-deploy publish, smoke test', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'demo1']);
    expect(commands(run.stdout)).toEqual([
      '+ az ad signed-in-user show --query id --output tsv',
      expect.stringMatching(/^\+ az deployment sub create /),
      '+ npm run build',
      '+ rm -rf .deploy/app .deploy/app.zip',
      '+ mkdir -p .deploy/app/dist',
      '+ cp -R dist/functions dist/shared .deploy/app/dist/',
      '+ cp -R host.json package.json package-lock.json web .deploy/app/',
      '+ npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefix .deploy/app',
      '+ (cd .deploy/app && zip -qr ../app.zip .)',
      '+ az functionapp deploy --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --src-path .deploy/app.zip --type zip',
      '+ curl -fsS --retry 10 --retry-delay 6 --retry-all-errors <FUNCTION_APP_URL>/api/health',
    ]);
    expect(run.stdout).toContain('Smoke test: curl -fsS <FUNCTION_APP_URL>/api/health');
  });

  it('uses the given regions and developer, and reads the earlier deployment with --skip-infra', () => {
    const infra = runScript('scripts/infra/deploy.sh', [
      '--dry-run',
      '--env',
      'prod',
      '--location',
      'westus3',
      '--secondary-location',
      'francecentral',
      '--developer-principal-id',
      '',
      '--skip-app',
    ]);
    expect(commands(infra.stdout)).toEqual([
      expect.stringContaining(
        '--name prod --location westus3 --template-file infra/main.bicep --parameters infra/main.bicepparam' +
          ' --parameters environmentName=prod primaryLocation=westus3 secondaryLocation=francecentral developerPrincipalId=',
      ),
    ]);
    const app = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'prod', '--skip-infra']);
    expect(commands(app.stdout)[0]).toBe(
      '+ az deployment sub show --name prod --query properties.outputs --output json',
    );
  });

  it('refuses the same region twice, since failover needs two', () => {
    const run = runScript('scripts/infra/deploy.sh', [
      '--dry-run',
      '--location',
      'eastus2',
      '--secondary-location',
      'eastus2',
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('the two regions must differ');
  });

  it('fails with a clear message when az is missing and it is not a dry run', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--env', 'demo1']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the az CLI is not on PATH');
  });
});

describe('scripts/infra/write-local-settings.sh', () => {
  it('prints the az command that reads the deployment outputs in a dry run', () => {
    const run = runScript('scripts/infra/write-local-settings.sh', ['--dry-run', '--env', 'demo1']);
    expect(run.status, run.stderr).toBe(0);
    expect(commands(run.stdout)).toEqual([
      '+ az deployment sub show --name demo1 --query properties.outputs --output json',
      '+ node scripts/infra/local-settings.mjs --outputs <outputs.json> --out local.settings.json --auth-mode key-vault',
    ]);
  });

  it('writes settings in key-vault mode that the backend config loader accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-settings-'));
    const regions = [
      {
        name: 'eastus2',
        endpoint: 'https://oai-abc-eastus2.openai.azure.com/',
        deployments: { 'gpt-4o': 'gpt-4o' },
        keySecretName: 'openai-key-eastus2',
      },
      {
        name: 'swedencentral',
        endpoint: 'https://oai-abc-swedencentral.openai.azure.com/',
        deployments: { 'gpt-4o': 'gpt-4o' },
        keySecretName: 'openai-key-swedencentral',
      },
    ];
    writeFileSync(
      join(dir, 'outputs.json'),
      JSON.stringify({
        CHAT_REGIONS: { type: 'String', value: JSON.stringify(regions) },
        CHAT_DEFAULT_MODEL: { type: 'String', value: 'gpt-4o' },
        KEY_VAULT_URL: { type: 'String', value: 'https://kv-abc.vault.azure.net/' },
        AZURE_CLIENT_ID: { type: 'String', value: 'app-identity-client-id' },
      }),
    );
    const out = join(dir, 'local.settings.json');
    execFileSync(
      'bash',
      [
        join(repoRoot, 'scripts/infra/write-local-settings.sh'),
        '--outputs-file',
        join(dir, 'outputs.json'),
        '--out',
        out,
      ],
      { cwd: repoRoot, stdio: 'ignore' },
    );
    const { Values } = JSON.parse(readFileSync(out, 'utf8')) as { Values: Record<string, string> };
    expect(Values).toMatchObject({ CHAT_AUTH_MODE: 'key-vault', KEY_VAULT_URL: 'https://kv-abc.vault.azure.net/' });
    // The app's managed identity does not exist on a laptop.
    expect(Values).not.toHaveProperty('AZURE_CLIENT_ID');
    const config = loadConfig(Values);
    expect(config.auth).toEqual({ mode: 'key-vault', vaultUrl: 'https://kv-abc.vault.azure.net/' });
    expect(config.regions.map((r) => r.keySecretName)).toEqual(['openai-key-eastus2', 'openai-key-swedencentral']);
  });

  it('falls back to managed-identity (az login) when the accounts hold no key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-settings-'));
    const regions = [
      { name: 'eastus2', endpoint: 'https://oai-abc-eastus2.openai.azure.com/', deployments: { 'gpt-4o': 'gpt-4o' } },
    ];
    writeFileSync(
      join(dir, 'outputs.json'),
      JSON.stringify({
        CHAT_REGIONS: { value: JSON.stringify(regions) },
        CHAT_DEFAULT_MODEL: { value: 'gpt-4o' },
        KEY_VAULT_URL: { value: 'https://kv-abc.vault.azure.net/' },
      }),
    );
    const run = runScript('scripts/infra/write-local-settings.sh', [
      '--outputs-file',
      join(dir, 'outputs.json'),
      '--out',
      '-',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('local auth disabled');
    const { Values } = JSON.parse(run.stdout) as { Values: Record<string, string> };
    expect(loadConfig(Values).auth).toEqual({ mode: 'managed-identity' });
  });
});
