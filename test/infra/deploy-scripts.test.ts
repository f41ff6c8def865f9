import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

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

beforeAll(() => {
  // The dry runs compile the parameter file with the pinned Bicep CLI (restored once, with the
  // machine's own environment; the scripts then run with a bare one).
  execFileSync('bash', [join(repoRoot, '.ci/install-bicep.sh')], { cwd: repoRoot, stdio: 'ignore' });
}, 180_000);

const PREFLIGHT = [
  '+ bash scripts/infra/bicep.sh build-params infra/main.bicepparam --stdout',
  '+ az cognitiveservices model list --location eastus2 --output json',
  '+ az cognitiveservices usage list --location eastus2 --output json',
  '+ az cognitiveservices model list --location swedencentral --output json',
  '+ az cognitiveservices usage list --location swedencentral --output json',
  '+ az group exists --name rg-demo1',
  '+ az cognitiveservices account list-deleted --output json',
  '+ az keyvault list-deleted --resource-type vault --output json',
  expect.stringMatching(
    /^\+ node scripts\/infra\/preflight\.mjs --parameters <preflight-dir>\/parameters\.json .* --resource-group rg-demo1 --retirement-window-days 60 --restore-out \.deploy\/restore\.txt$/,
  ),
];
const SIGN_IN = [
  '+ az ad app list --display-name chat-api-demo1 --output json',
  '+ az ad app create --display-name chat-api-demo1 --sign-in-audience AzureADMyOrg --output json',
  '+ az ad sp show --id <chat-api-demo1-client-id> --output json',
  '+ az ad sp create --id <chat-api-demo1-client-id> --output json',
  '+ az ad app update --id <chat-api-demo1-client-id> --identifier-uris api://<chat-api-demo1-client-id>',
  expect.stringMatching(
    /^\+ az rest --method PATCH --uri https:\/\/graph\.microsoft\.com\/v1\.0\/applications\/<chat-api-demo1-object-id> .*oauth2PermissionScopes/,
  ),
  '+ az ad app list --display-name chat-web-demo1 --output json',
  '+ az ad app create --display-name chat-web-demo1 --sign-in-audience AzureADMyOrg --output json',
  '+ az ad sp show --id <chat-web-demo1-client-id> --output json',
  '+ az ad sp create --id <chat-web-demo1-client-id> --output json',
  '+ az deployment sub show --name demo1 --query properties.outputs --output json',
];
const DEPLOY_ARGS =
  '--name demo1 --location eastus2 --template-file infra/main.bicep --parameters infra/main.bicepparam' +
  ' --parameters environmentName=demo1 primaryLocation=eastus2 secondaryLocation=swedencentral twoStamps=false' +
  ' authClientId=<chat-api-demo1-client-id> webClientId=<chat-web-demo1-client-id>' +
  ' --parameters @.deploy/secrets.parameters.json';

describe('scripts/infra/deploy.sh --dry-run', () => {
  it('prints every step in order: preflight, sign-in, secrets, what-if, deployment, redirect URIs, build, package, retried publish, smoke test', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'demo1']);
    expect(run.status, run.stderr).toBe(0);
    expect(commands(run.stdout)).toEqual([
      '+ bash scripts/infra/preflight.sh --env demo1 --location eastus2 --secondary-location swedencentral --parameters infra/main.bicepparam --restore-out .deploy/restore.txt --dry-run',
      ...PREFLIGHT,
      ...SIGN_IN,
      `+ az deployment sub what-if ${DEPLOY_ARGS}`,
      `+ az deployment sub create ${DEPLOY_ARGS} --query properties.outputs --output json`,
      expect.stringMatching(
        /^\+ az rest --method PATCH --uri https:\/\/graph\.microsoft\.com\/v1\.0\/applications\/<chat-web-demo1-object-id> .*redirect\.html/,
      ),
      '+ npm run build',
      '+ rm -rf .deploy/app .deploy/app.zip',
      '+ mkdir -p .deploy/app/dist',
      '+ cp -R dist/functions dist/shared .deploy/app/dist/',
      '+ cp -R host.json package.json package-lock.json web .deploy/app/',
      '+ npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefix .deploy/app',
      '+ (cd .deploy/app && zip -qr ../app.zip .)',
      '+ curl -fsS --max-time 10 https://api.ipify.org',
      '+ az functionapp config access-restriction add --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --scm-site true --rule-name deploy-client --action Allow --ip-address <this-machine-ip>/32 --priority 100 --output none',
      '+ az functionapp deploy --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --src-path .deploy/app.zip --type zip',
      '+ az functionapp config access-restriction remove --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --scm-site true --rule-name deploy-client --output none',
      '+ az functionapp keys list --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --query functionKeys.default --output tsv',
      '+ curl -fsS --max-time 120 --retry 10 --retry-delay 6 --retry-all-errors --config - <API_BASE_URL>/health/deep',
    ]);
    expect(run.stdout).toMatch(/az functionapp deploy .*\n {2}\(retried up to 10 times, 15s doubling to 120s apart/);
    expect(run.stdout).toContain(
      "Smoke test: curl -fsS -H 'x-functions-key: <function key>' <API_BASE_URL>/health/deep",
    );
    // Works under a service principal: nothing asks Microsoft Graph who is signed in.
    expect(run.stdout).not.toContain('signed-in-user');
  }, 120_000);

  it('with --two-stamps deploys twoStamps=true and publishes to both Function Apps', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'demo1', '--two-stamps']);
    expect(run.status, run.stderr).toBe(0);
    const lines = commands(run.stdout);
    expect(lines.find((c) => c.startsWith('+ az deployment sub create'))).toContain('twoStamps=true');
    expect(lines.filter((c) => c.startsWith('+ az functionapp deploy'))).toEqual([
      '+ az functionapp deploy --resource-group <RESOURCE_GROUP> --name <FUNCTION_APP_NAME> --src-path .deploy/app.zip --type zip',
      '+ az functionapp deploy --resource-group <RESOURCE_GROUP_2> --name <FUNCTION_APP_NAME_2> --src-path .deploy/app.zip --type zip',
    ]);
  }, 120_000);

  it('stops after the what-if with --what-if, and passes the soft-deleted names to recover with --restore', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'demo1', '--what-if', '--restore']);
    expect(run.status, run.stderr).toBe(0);
    const lines = commands(run.stdout);
    expect(lines[0]).toContain('preflight.sh --env demo1');
    expect(lines[0]).toContain('--restore --restore-out .deploy/restore.txt');
    expect(lines.at(-1)).toBe(
      `+ az deployment sub what-if ${DEPLOY_ARGS.replace(' --parameters @', ' restoreSoftDeleted=<soft-deleted-names> --parameters @')}`,
    );
    expect(run.stderr).toContain('what-if only');
  }, 120_000);

  it('uses the given regions and developer with its principal type, none with an empty id, and reads the earlier deployment with --skip-infra', () => {
    const infra = runScript('scripts/infra/deploy.sh', [
      '--dry-run',
      '--env',
      'prod',
      '--location',
      'westus3',
      '--secondary-location',
      'francecentral',
      '--developer-principal-id',
      '11111111-2222-3333-4444-555555555555',
      '--developer-principal-type',
      'Group',
      '--no-sign-in',
      '--skip-app',
      '--skip-preflight',
    ]);
    expect(commands(infra.stdout)).toEqual([
      '+ az deployment sub show --name prod --query properties.outputs --output json',
      expect.stringMatching(/^\+ az deployment sub what-if /),
      '+ az deployment sub create --name prod --location westus3 --template-file infra/main.bicep --parameters infra/main.bicepparam' +
        ' --parameters environmentName=prod primaryLocation=westus3 secondaryLocation=francecentral twoStamps=false' +
        ' grantDeveloperAccess=true developerPrincipalId=11111111-2222-3333-4444-555555555555 developerPrincipalType=Group' +
        ' --parameters @.deploy/secrets.parameters.json --query properties.outputs --output json',
      expect.stringMatching(/^\+ az functionapp keys list /),
      expect.stringMatching(/^\+ curl /),
    ]);
    const nobody = runScript('scripts/infra/deploy.sh', [
      '--dry-run',
      '--skip-preflight',
      '--no-sign-in',
      '--developer-principal-id',
      '',
    ]);
    expect(commands(nobody.stdout)[1]).toMatch(/twoStamps=false grantDeveloperAccess=false --parameters @/);
    const wrongType = runScript('scripts/infra/deploy.sh', ['--dry-run', '--developer-principal-type', 'Robot']);
    expect(wrongType.status).toBe(2);
    expect(wrongType.stderr).toContain('--developer-principal-type must be User, Group or ServicePrincipal');
    const app = runScript('scripts/infra/deploy.sh', ['--dry-run', '--env', 'prod', '--skip-infra']);
    expect(commands(app.stdout)[0]).toBe(
      '+ az deployment sub show --name prod --query properties.outputs --output json',
    );
  }, 120_000);

  it('refuses the same region twice, since failover needs two', () => {
    const run = runScript('scripts/infra/deploy.sh', [
      '--dry-run',
      '--location',
      'eastus2',
      '--secondary-location',
      'EastUS2',
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('the two regions must differ');
  }, 120_000);

  it('fails with a clear message when az is missing and it is not a dry run', () => {
    const run = runScript('scripts/infra/deploy.sh', ['--env', 'demo1']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the az CLI is not on PATH');
  }, 120_000);
});

/** A folder with a fake `az` (and `curl`) that answers from a script, first on PATH. */
function fakeAz(script: string): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  writeFileSync(join(dir, 'az'), `#!/usr/bin/env bash\nset -euo pipefail\n${script}\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'curl'), '#!/usr/bin/env bash\necho \'{"status":"ok"}\'\n', { mode: 0o755 });
  return {
    dir,
    env: {
      PATH: `${dir}${delimiter}${pathWithoutAz}`,
      HOME: tmpdir(),
      DEPLOY_PUBLISH_DELAY: '0',
      DEPLOY_CLIENT_IP: '203.0.113.7',
    },
  };
}
const OUTPUTS = JSON.stringify({
  RESOURCE_GROUP: { value: 'rg-demo1' },
  FUNCTION_APP_NAMES: { value: ['func-a', 'func-b'] },
  FUNCTION_APP_RESOURCE_GROUPS: { value: ['rg-demo1', 'rg-demo1-swedencentral'] },
  API_BASE_URL: { value: 'https://api.example.azurefd.net/api' },
});

describe('scripts/infra/deploy.sh publishing', () => {
  it('retries a publish that fails while the role assignment propagates, with progress, then publishes every stamp', () => {
    const { dir, env } = fakeAz(`
case "$*" in
  "deployment sub show"*) echo '${OUTPUTS}' ;;
  "functionapp config access-restriction"*) echo '[]' ;;
  "functionapp keys list"*) echo 'host-key' ;;
  "functionapp deploy"*)
    n=$(cat "${'$'}{FAKE_DIR}/count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${'$'}{FAKE_DIR}/count"
    if (( n <= 2 )); then echo "ERROR: 403 AuthorizationPermissionMismatch" >&2; exit 1; fi
    echo "deployed $*" ;;
  *) echo "unexpected az $*" >&2; exit 9 ;;
esac`);
    const result = spawnSync(
      'bash',
      [join(repoRoot, 'scripts/infra/deploy.sh'), '--env', 'demo1', '--skip-infra', '--package', join(dir, 'app.zip')],
      { cwd: repoRoot, env: { ...env, FAKE_DIR: dir }, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('deploy: publish to func-a failed (attempt 1 of 10)');
    expect(result.stderr).toContain('deploy: publish to func-a failed (attempt 2 of 10)');
    expect(result.stderr).toContain('deploy: published to func-a (attempt 3)');
    expect(result.stderr).toContain('deploy: published to func-b (attempt 1)');
    expect(result.stdout).toContain(
      '+ curl -fsS --max-time 120 --retry 10 --retry-delay 6 --retry-all-errors --config - https://api.example.azurefd.net/api/health/deep',
    );
  });

  it('gives up after DEPLOY_PUBLISH_ATTEMPTS and says what to do', () => {
    const { dir, env } = fakeAz(`
case "$*" in
  "deployment sub show"*) echo '${OUTPUTS}' ;;
  "functionapp config access-restriction"*) echo '[]' ;;
  "functionapp keys list"*) echo 'host-key' ;;
  "functionapp deploy"*) echo "ERROR: 403" >&2; exit 1 ;;
esac`);
    const result = spawnSync(
      'bash',
      [join(repoRoot, 'scripts/infra/deploy.sh'), '--skip-infra', '--package', join(dir, 'app.zip')],
      { cwd: repoRoot, env: { ...env, DEPLOY_PUBLISH_ATTEMPTS: '2' }, encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('deploy: publishing to func-a failed 2 times');
    expect(result.stderr).toContain('rerun with --skip-infra');
    expect(result.stderr).not.toContain('func-b');
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
