/* global console, process -- Node globals; the repo ESLint config declares none for .mjs files. */
// A stand-in for the Azure CLI (`az`), for running scripts/infra/*.sh end to end without Azure. The
// folder test/stand-ins/az-bin holds an `az` that runs this file; put it first on PATH.
//
// It answers the commands the deploy scripts run, in the shapes the real CLI prints (JSON as
// `--output json` prints it, plain text for `--output tsv`, `ERROR: ...` on stderr with exit code 3
// for a resource that does not exist, as the CLI does for ResourceNotFound). It keeps what the
// commands change (app registrations, service principals, deployments, Key Vault secrets, access
// restrictions) in a state file, so a second run sees the first one's work, and records every call.
//
// Environment: AZ_STANDIN_DIR, a folder holding
//   scenario.json  what Azure holds before the run (see test/infra/stand-in-az.ts for its fields)
//   state.json     what the commands changed (created on the first call)
//   calls.jsonl    one JSON array of arguments per call, appended
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const dir = process.env.AZ_STANDIN_DIR;
if (!dir) {
  console.error('ERROR: AZ_STANDIN_DIR is not set (the az stand-in needs its scenario folder)');
  process.exit(2);
}
const argv = process.argv.slice(2);
appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify(argv)}\n`);

const scenario = JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8'));
const stateFile = join(dir, 'state.json');
const state = existsSync(stateFile)
  ? JSON.parse(readFileSync(stateFile, 'utf8'))
  : { apps: [], servicePrincipals: [], deployments: {}, resources: [], accessRules: {}, published: [] };
const save = () => writeFileSync(stateFile, JSON.stringify(state, null, 2));

const SUBSCRIPTION = scenario.subscriptionId ?? '00000000-0000-0000-0000-00000000aaaa';
const TENANT = scenario.tenantId ?? '11111111-1111-1111-1111-111111111111';

/** Values of every occurrence of an option; an option takes every word up to the next option
 * (`--parameters a=1 b=2`, as the CLI reads them). */
function options(name) {
  const values = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== name) continue;
    for (let j = i + 1; j < argv.length && !argv[j].startsWith('--'); j++) values.push(argv[j]);
  }
  return values;
}
const option = (name) => options(name).at(-1);
/** The command words: everything before the first option. */
const command = argv
  .slice(
    0,
    Math.max(
      0,
      argv.findIndex((a) => a.startsWith('-')),
    ) || argv.length,
  )
  .join(' ');

function print(value) {
  const output = option('--output') ?? option('-o') ?? 'json';
  const queried = query(value, option('--query'));
  if (output === 'tsv') {
    const rows = Array.isArray(queried) ? queried : [queried];
    for (const row of rows) console.log(Array.isArray(row) ? row.join('\t') : String(row));
  } else {
    console.log(JSON.stringify(queried, null, 2));
  }
  process.exit(0);
}

/** The few JMESPath shapes the scripts use: a dotted path, `[0].path`, and the OpenAI account filter. */
function query(value, expression) {
  if (!expression) return value;
  if (expression === "[?kind=='OpenAI'].[name, location]") {
    return value.filter((a) => a.kind === 'OpenAI').map((a) => [a.name, a.location]);
  }
  let current = value;
  for (const part of expression.split('.')) {
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) current = current?.[Number(index[1])];
    else if (part !== '') current = current?.[part];
  }
  if (current === undefined) {
    fail(`the query ${expression} does not apply to this answer`, 1);
  }
  return current;
}

function fail(message, code = 3) {
  console.error(`ERROR: ${message}`);
  process.exit(code);
}
const notFound = (type, name) =>
  fail(`(ResourceNotFound) The Resource '${type}/${name}' under resource group was not found.\nCode: ResourceNotFound`);

/** Parameters given as `name=value` words and `@file.json` ARM parameter files (a .bicepparam is Azure's to read). */
function deploymentParameters() {
  const parameters = {};
  for (const value of options('--parameters')) {
    if (value.startsWith('@')) {
      const file = JSON.parse(readFileSync(value.slice(1), 'utf8'));
      for (const [name, { value: v }] of Object.entries(file.parameters ?? {})) parameters[name] = v;
    } else if (value.includes('=')) {
      const at = value.indexOf('=');
      parameters[value.slice(0, at)] = value.slice(at + 1);
    }
  }
  return parameters;
}

/** What Resource Manager would create for these parameters, as `properties.outputs`. */
function deploy(name) {
  const p = deploymentParameters();
  const env = p.environmentName;
  const token = `tok${env.replace(/[^a-z0-9]/g, '')}`;
  const twoStamps = p.twoStamps === 'true';
  const regions = [p.primaryLocation, p.secondaryLocation];
  const stampRegions = twoStamps ? regions : [p.primaryLocation];
  const groups = stampRegions.map((r, i) => (i === 0 ? `rg-${env}` : `rg-${env}-${r}`));
  const apps = stampRegions.map((r, i) => `func-api-${token}${i === 0 ? '' : `-${r}`}`);
  const vaultId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-${env}/providers/Microsoft.KeyVault/vaults/kv-${token}`;
  const base = scenario.siteUrl ?? 'https://example.invalid';
  const frontDoorUrl = twoStamps ? (scenario.frontDoorUrl ?? base) : '';
  for (const secret of ['chat-response-id-secret', 'chat-service-keys']) {
    const parameter = secret === 'chat-response-id-secret' ? 'newResponseIdSecret' : 'newServiceKeys';
    const id = `${vaultId}/secrets/${secret}`;
    if (p[parameter] && !state.resources.includes(id)) state.resources.push(id);
  }
  for (const [i, app] of apps.entries()) {
    state.functionKeys ??= {};
    state.functionKeys[app] ??= `host-key-${i + 1}-${randomUUID()}`;
  }
  const out = (value) => ({ type: Array.isArray(value) ? 'Array' : 'String', value });
  const outputs = {
    RESOURCE_GROUP: out(groups[0]),
    AZURE_LOCATION: out(p.primaryLocation),
    AZURE_TENANT_ID: out(TENANT),
    CHAT_DEFAULT_MODEL: out('gpt-5.4'),
    KEY_VAULT_ID: out(vaultId),
    KEY_VAULT_URL: out(`https://kv-${token}.vault.azure.net/`),
    CHAT_AUTH_AUDIENCE: out(p.authClientId ? `${p.authClientId},api://${p.authClientId}` : ''),
    FUNCTION_APP_NAME: out(apps[0]),
    FUNCTION_APP_NAMES: out(apps),
    FUNCTION_APP_RESOURCE_GROUPS: out(groups),
    FUNCTION_APP_URLS: out(apps.map((a) => (scenario.siteUrl ? base : `https://${a}.azurewebsites.net`))),
    FRONT_DOOR_URL: out(frontDoorUrl),
    API_BASE_URL: out(
      `${twoStamps ? frontDoorUrl : scenario.siteUrl ? base : `https://${apps[0]}.azurewebsites.net`}/api`,
    ),
  };
  state.deployments[name] = { parameters: p, outputs };
  save();
  return outputs;
}

function application(id) {
  return state.apps.find((a) => a.appId === id || a.id === id || a.identifierUris.includes(id));
}

// ---------------------------------------------------------------------------------------------
switch (true) {
  case command === 'account show':
    print({
      environmentName: 'AzureCloud',
      id: SUBSCRIPTION,
      isDefault: true,
      name: 'Stand-in subscription',
      state: 'Enabled',
      tenantId: TENANT,
      user: scenario.user ?? { name: 'dev@example.com', type: 'user' },
    });
    break;

  case command === 'cognitiveservices model list': {
    const region = scenario.regions?.[option('--location')];
    if (!region)
      fail(`(LocationNotAvailableForResourceType) The provided location '${option('--location')}' is not available`, 1);
    print(region.models);
    break;
  }
  case command === 'cognitiveservices usage list':
    print(scenario.regions?.[option('--location')]?.usage ?? []);
    break;
  case command === 'group exists':
    console.log(String((scenario.groups ?? []).includes(option('--name'))));
    process.exit(0);
    break;
  case command === 'cognitiveservices account list':
    print((scenario.accounts ?? []).filter((a) => a.resourceGroup === option('--resource-group')));
    break;
  case command === 'cognitiveservices account deployment list':
    print(scenario.accountDeployments?.[option('--name')] ?? []);
    break;
  case command === 'cognitiveservices account list-deleted':
    print(scenario.deletedAccounts ?? []);
    break;
  case command === 'keyvault list-deleted':
    print(scenario.deletedVaults ?? []);
    break;

  case command === 'deployment sub what-if':
    deploymentParameters();
    console.log('Note: The result may contain false positive predictions (noise).');
    console.log('Resource and property changes are indicated with this symbol:\n  + Create\n');
    console.log(
      `Scope: /subscriptions/${SUBSCRIPTION}\n\n  + resourceGroups/rg-${deploymentParameters().environmentName}\n`,
    );
    console.log('Resource changes: 1 to create.');
    process.exit(0);
    break;
  case command === 'deployment sub create':
    print({
      id: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Resources/deployments/${option('--name')}`,
      properties: { provisioningState: 'Succeeded', outputs: deploy(option('--name')) },
    });
    break;
  case command === 'deployment sub show': {
    const deployment = state.deployments[option('--name')];
    if (!deployment)
      fail(`(DeploymentNotFound) Deployment '${option('--name')}' could not be found.\nCode: DeploymentNotFound`);
    print({ properties: { provisioningState: 'Succeeded', outputs: deployment.outputs } });
    break;
  }
  case command === 'resource show': {
    const id = option('--ids');
    if (!state.resources.includes(id)) notFound('Microsoft.KeyVault/vaults/secrets', id.split('/').pop());
    print({
      id,
      name: id
        .split('/')
        .slice(-3)
        .filter((_, i) => i !== 1)
        .join('/'),
      type: 'Microsoft.KeyVault/vaults/secrets',
      properties: { attributes: { enabled: true } },
    });
    break;
  }

  case command === 'ad app list': {
    const name = option('--display-name');
    print(state.apps.filter((a) => a.displayName === name));
    break;
  }
  case command === 'ad app create': {
    const app = {
      id: randomUUID(),
      appId: randomUUID(),
      displayName: option('--display-name'),
      signInAudience: option('--sign-in-audience') ?? 'AzureADMyOrg',
      identifierUris: [],
      api: { oauth2PermissionScopes: [], requestedAccessTokenVersion: null },
      spa: { redirectUris: [] },
      web: { redirectUris: [] },
    };
    state.apps.push(app);
    save();
    print(app);
    break;
  }
  case command === 'ad app show': {
    const app = application(option('--id'));
    if (!app)
      fail(
        `Resource '${option('--id')}' does not exist or one of its queried reference-property objects are not present.`,
      );
    print(app);
    break;
  }
  case command === 'ad app update': {
    const app = application(option('--id'));
    if (!app)
      fail(
        `Resource '${option('--id')}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const uris = options('--identifier-uris');
    if (uris.length > 0) app.identifierUris = uris;
    save();
    process.exit(0); // az ad app update prints nothing
    break;
  }
  case command === 'ad sp show': {
    const sp = state.servicePrincipals.find((s) => s.appId === option('--id'));
    if (!sp) fail(`Service principal '${option('--id')}' doesn't exist`);
    print(sp);
    break;
  }
  case command === 'ad sp create': {
    const app = application(option('--id'));
    if (!app) fail(`Resource '${option('--id')}' does not exist`);
    const sp = {
      id: randomUUID(),
      appId: app.appId,
      displayName: app.displayName,
      servicePrincipalType: 'Application',
    };
    state.servicePrincipals.push(sp);
    save();
    print(sp);
    break;
  }
  case command === 'rest': {
    // Microsoft Graph PATCH of an application object: answers 204 No Content, so az prints nothing.
    const match = /^https:\/\/graph\.microsoft\.com\/v1\.0\/applications\/([^/?]+)$/.exec(option('--uri') ?? '');
    if (option('--method') !== 'PATCH' || !match)
      fail(`stand-in az rest: unexpected ${option('--method')} ${option('--uri')}`, 1);
    const app = state.apps.find((a) => a.id === match[1]);
    if (!app) fail('Not Found({"error":{"code":"Request_ResourceNotFound"}})', 1);
    const body = JSON.parse(option('--body'));
    if (body.api) app.api = { ...app.api, ...body.api };
    if (body.spa) app.spa = { ...app.spa, ...body.spa };
    save();
    process.exit(0);
    break;
  }

  case command === 'functionapp config access-restriction add':
  case command === 'functionapp config access-restriction remove': {
    const key = option('--name');
    const rules = (state.accessRules[key] ??= []);
    if (command.endsWith('add'))
      rules.push({ name: option('--rule-name'), ip: option('--ip-address'), scm: option('--scm-site') });
    else state.accessRules[key] = rules.filter((r) => r.name !== option('--rule-name'));
    save();
    print([]);
    break;
  }
  case command === 'functionapp deploy': {
    const app = option('--name');
    const failures = scenario.publishFailures?.[app] ?? 0;
    const attempts = state.published.filter((p) => p.app === app && p.failed).length;
    if (attempts < failures) {
      state.published.push({ app, failed: true });
      save();
      fail('Status Code: 403, Details: AuthorizationPermissionMismatch', 1);
    }
    state.published.push({ app, group: option('--resource-group'), scmRules: state.accessRules[app] ?? [] });
    save();
    console.log(JSON.stringify({ status: 4, complete: true, active: true }));
    process.exit(0);
    break;
  }
  case command === 'functionapp keys list': {
    const key = state.functionKeys?.[option('--name')];
    if (!key) notFound('Microsoft.Web/sites', option('--name'));
    print({ functionKeys: { default: key }, masterKey: `master-${key}`, systemKeys: {} });
    break;
  }
  default:
    fail(`stand-in az: no answer for 'az ${argv.join(' ')}'`, 9);
}
