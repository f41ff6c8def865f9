/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   ARM template JSON is untyped; these helpers and tests walk it as `any` on purpose. */
import { beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config.js';
import { chatAccess } from '../../shared/auth/access.js';
import { webSignIn } from '../../shared/auth/web-sign-in.js';
import { quotaSettings } from '../../shared/quota/settings.js';
import type { Json, Template } from './arm.js';
import { compileInfra, DEPLOYER_OBJECT_ID, SUBSCRIPTION_ID, uniqueString } from './arm.js';
import type { Deployment, EvaluatedModule } from './deployment.js';
import { copyCount, evaluateCopies, evaluateDeployment, evaluateResource } from './deployment.js';

const copyCountOf = copyCount;

const ROLE = {
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
} as const;
const roleId = (guid: string) =>
  `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const resourceId = (type: string, name: string) =>
  `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/<rg>/providers/${type}/${name}`;

const DEVELOPER = '11111111-2222-3333-4444-555555555555';

/** The only secure parameters: new Key Vault secrets' values (main), and the vault module's input. */
const RESPONSE_ID_SECRET_PARAMETERS = ['newResponseIdSecret', 'newServiceKeys', 'secrets'];

let template: Template;
let fileParameters: Record<string, Json>;
let twoStampParameters: Record<string, Json>;
let deployment: Deployment;
let twoStamps: Deployment;
let withDeveloper: Deployment;
let token: string;
let checkLog: string;

function module(d: Deployment, symbol: string): EvaluatedModule {
  const m = d.modules[symbol];
  if (!m) throw new Error(`no module ${symbol}; have ${Object.keys(d.modules).join(', ')}`);
  return m;
}
function loop(d: Deployment, symbol: string): EvaluatedModule[] {
  return Object.keys(d.modules)
    .filter((k) => k.startsWith(`${symbol}[`))
    .map((k) => module(d, k));
}
function openAiModules(d: Deployment): EvaluatedModule[] {
  return loop(d, 'openAi');
}
function appSettings(d: Deployment, stamp = 0): Record<string, string> {
  return evaluateResource(module(d, `functionApp[${stamp}]`), 'site::appSettings').properties;
}
/** Every role assignment a deployment makes (deployed modules, conditions that hold). */
function roleAssignments(d: Deployment): { module: string; symbol: string; assignment: Json }[] {
  return Object.values(d.modules)
    .filter((m) => m.deployed)
    .flatMap((m) =>
      Object.entries(m.template.resources)
        .filter(([, r]) => r.type === 'Microsoft.Authorization/roleAssignments')
        .flatMap(([symbol]) =>
          evaluateCopies(m, symbol).map((assignment: Json) => ({ module: m.symbol, symbol, assignment })),
        ),
    )
    .filter(({ assignment }) => assignment.condition !== false);
}

beforeAll(() => {
  const compiled = compileInfra();
  template = compiled.template;
  fileParameters = compiled.parameters;
  twoStampParameters = compiled.twoStampParameters;
  checkLog = compiled.log;
  deployment = evaluateDeployment(template, fileParameters);
  twoStamps = evaluateDeployment(template, twoStampParameters);
  withDeveloper = evaluateDeployment(template, { ...fileParameters, developerPrincipalId: DEVELOPER });
  token = uniqueString(
    `/subscriptions/${SUBSCRIPTION_ID}`,
    fileParameters.environmentName,
    fileParameters.primaryLocation,
  );
}, 360_000);

describe('infra/main.bicep compiled with the pinned Bicep CLI', () => {
  it('builds and lints with zero warnings, and builds the parameter file for both modes', () => {
    // check.sh already fails on any warning; this guards against it being loosened.
    expect(checkLog).toMatch(/ok {3}lint infra\/main\.bicep \(0 warnings\)/);
    expect(checkLog).toContain('CHAT_TWO_STAMPS=false -> .bicep/out/main.parameters.json');
    expect(checkLog).toContain('CHAT_TWO_STAMPS=true -> .bicep/out/main.two-stamps.parameters.json');
    expect(checkLog).not.toMatch(/Warning|Error/);
    expect(fileParameters.twoStamps).toBe(false);
    expect(twoStampParameters).toEqual({ ...fileParameters, twoStamps: true });
  });

  it('fails the deployment itself when both regions are the same, whoever deploys it', () => {
    expect(() => evaluateDeployment(template, { ...fileParameters, secondaryLocation: 'EastUS2' })).toThrow(
      /fail\(\): primaryLocation and secondaryLocation must be two different regions \(both are eastus2\)/,
    );
  });

  it('deploys at subscription scope and creates the resource group in the primary region', () => {
    expect(template).toHaveProperty('$schema', expect.stringContaining('subscriptionDeploymentTemplate.json'));
    const rg = evaluateResource(
      {
        symbol: 'main',
        deployed: true,
        template,
        parameters: deployment.parameters,
        outputs: {},
        scope: { parameters: deployment.parameters, variables: deployment.variables, reference: () => ({}) },
      },
      'rg',
    );
    expect(rg).toMatchObject({
      type: 'Microsoft.Resources/resourceGroups',
      name: `rg-${fileParameters.environmentName}`,
      location: 'eastus2',
    });
  });

  it('uses local modules only, no registry modules', () => {
    const json = JSON.stringify(template);
    expect(json).not.toMatch(/br:|br\/public/);
  });
});

describe('Azure OpenAI accounts', () => {
  it('loops one module over the regions, primary first', () => {
    expect(template.resources.openAi.copy).toEqual({ name: 'openAi', count: "[length(variables('regions'))]" });
    expect(deployment.variables.regions).toEqual(['eastus2', 'swedencentral']);
    expect(twoStamps.variables.regions).toEqual(['eastus2', 'swedencentral']);
  });

  it('creates two keyless accounts in two different regions by default', () => {
    const accounts = openAiModules(deployment).map((m) => evaluateResource(m, 'account'));
    expect(accounts).toHaveLength(2);
    expect(accounts.map((a) => a.location)).toEqual(['eastus2', 'swedencentral']);
    expect(new Set(accounts.map((a) => a.name)).size).toBe(2);
    for (const account of accounts) {
      expect(account).toMatchObject({
        type: 'Microsoft.CognitiveServices/accounts',
        kind: 'OpenAI',
        sku: { name: 'S0' },
        properties: { customSubDomainName: account.name, disableLocalAuth: true, restore: false },
      });
      expect(account.name).toBe(`oai-${token}-${account.location}`);
    }
    expect(fileParameters.openAiLocalAuthEnabled).toBe(false);
    expect(template.parameters?.openAiLocalAuthEnabled).toMatchObject({ defaultValue: false });
  });

  it("creates the vault for the app's own secrets but stores no key in it while keys are off", () => {
    expect(module(deployment, 'keyVault').deployed).toBe(true);
    for (const m of openAiModules(deployment)) {
      expect(evaluateResource(m, 'keySecret').condition).toBe(false);
      expect(m.outputs.chatRegion).not.toHaveProperty('keySecretName');
    }
    expect(deployment.outputs.KEY_VAULT_URL).toBe('');
    expect(appSettings(deployment)).not.toHaveProperty('KEY_VAULT_URL');
  });

  it('turns keys on as an opt-in: the vault, one secret per account, and keySecretName in CHAT_REGIONS', () => {
    const keyed = evaluateDeployment(template, { ...fileParameters, openAiLocalAuthEnabled: true });
    expect(module(keyed, 'keyVault').deployed).toBe(true);
    for (const m of openAiModules(keyed)) {
      expect(evaluateResource(m, 'account').properties.disableLocalAuth).toBe(false);
      const secret = m.template.resources.keySecret;
      expect(secret.condition).toBe("[parameters('localAuthEnabled')]");
      expect(secret.properties.value).toBe(`[listKeys('account', '${m.template.resources.account.apiVersion}').key1]`);
      expect(evaluateResource(m, 'keySecret')).toMatchObject({
        condition: true,
        name: `kv-${token}/openai-key-${m.parameters.location}`,
        properties: { value: 'listKeys(account).key1' },
      });
    }
    expect(keyed.outputs.KEY_VAULT_URL).toBe(`https://kv-${token}.vault.azure.net/`);
    expect(appSettings(keyed).KEY_VAULT_URL).toBe(`https://kv-${token}.vault.azure.net/`);
    expect(
      loadConfig({ ...appSettings(keyed), WEBSITE_INSTANCE_ID: 'azure' }).regions.map((r) => r.keySecretName),
    ).toEqual(['openai-key-eastus2', 'openai-key-swedencentral']);
  });

  it('deploys every model on each account one at a time, upgraded only once its version expires', () => {
    const models = fileParameters.models as {
      modelName: string;
      modelVersion: string;
      deploymentName: string;
      skuName: string;
      capacity: number;
    }[];
    expect(models.length).toBeGreaterThanOrEqual(1);
    for (const m of openAiModules(deployment)) {
      const loopSpec = m.template.resources.deployments;
      expect(loopSpec.copy).toMatchObject({ mode: 'serial', batchSize: 1, count: "[length(parameters('models'))]" });
      const accountName = evaluateResource(m, 'account').name;
      models.forEach((model, i) => {
        expect(evaluateResource(m, 'deployments', i)).toMatchObject({
          type: 'Microsoft.CognitiveServices/accounts/deployments',
          name: `${accountName}/${model.deploymentName}`,
          sku: { name: model.skuName, capacity: model.capacity },
          properties: {
            model: { format: 'OpenAI', name: model.modelName, version: model.modelVersion },
            versionUpgradeOption: 'OnceCurrentVersionExpired',
          },
        });
      });
    }
  });

  it('recovers the soft-deleted accounts and vault named in restoreSoftDeleted, and creates the rest', () => {
    const restored = evaluateDeployment(template, {
      ...fileParameters,
      openAiLocalAuthEnabled: true,
      restoreSoftDeleted: [`oai-${token}-swedencentral`, `kv-${token}`],
    });
    expect(openAiModules(restored).map((m) => evaluateResource(m, 'account').properties.restore)).toEqual([
      false,
      true,
    ]);
    expect(evaluateResource(module(restored, 'keyVault'), 'vault').properties.createMode).toBe('recover');
    const fresh = evaluateDeployment(template, { ...fileParameters, openAiLocalAuthEnabled: true });
    expect(evaluateResource(module(fresh, 'keyVault'), 'vault').properties.createMode).toBe('default');
  });
});

describe('role assignments', () => {
  // The same identity, looked up in its own group (the stamp's modules) or from the shared ones by group name.
  const identityId = (suffix = '') =>
    new RegExp(
      `^/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/(<rg>|rg-[a-z0-9-]+)/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities/id-api-${token}${suffix}$`,
    );
  const principal = (suffix = '') => `principalId(id-api-${token}${suffix})`;

  /** [role, scope type, scope name] of every assignment to the app identity of one stamp. */
  function grantsTo(d: Deployment, suffix: string): string[] {
    return roleAssignments(d)
      .filter(({ assignment }) => assignment.properties.principalId === principal(suffix))
      .map(({ assignment }) => {
        expect(assignment).toMatchObject({
          type: 'Microsoft.Authorization/roleAssignments',
          properties: { principalType: 'ServicePrincipal' },
        });
        const [scope, identity, roleInName] = /^guid\((.*), (.*), (.*)\)$/.exec(assignment.name)!.slice(1);
        expect([scope, roleInName]).toEqual([assignment.scope, assignment.properties.roleDefinitionId]);
        expect(identity).toMatch(identityId(suffix));
        const role = Object.entries(ROLE).find(([, g]) => roleId(g) === assignment.properties.roleDefinitionId)?.[0];
        return `${role} on ${String(assignment.scope).split('/providers/')[1]}`;
      })
      .sort();
  }

  it('gives the app identity exactly its roles, each named guid(scope, principal, role)', () => {
    expect(grantsTo(deployment, '')).toEqual(
      [
        `cognitiveServicesOpenAiUser on Microsoft.CognitiveServices/accounts/oai-${token}-eastus2`,
        `cognitiveServicesOpenAiUser on Microsoft.CognitiveServices/accounts/oai-${token}-swedencentral`,
        `keyVaultSecretsUser on Microsoft.KeyVault/vaults/kv-${token}`,
        `monitoringMetricsPublisher on Microsoft.Insights/components/appi-${token}`,
        `storageBlobDataOwner on Microsoft.Storage/storageAccounts/st${token}`,
        `storageTableDataContributor on Microsoft.Storage/storageAccounts/ststate${token}`,
      ].sort(),
    );
  });

  it('gives the second stamp the same identity model: its own identity, both accounts, its storage and telemetry, the shared tables', () => {
    expect(grantsTo(twoStamps, '')).toEqual(grantsTo(deployment, ''));
    expect(grantsTo(twoStamps, '-swedencentral')).toEqual(
      [
        `cognitiveServicesOpenAiUser on Microsoft.CognitiveServices/accounts/oai-${token}-eastus2`,
        `cognitiveServicesOpenAiUser on Microsoft.CognitiveServices/accounts/oai-${token}-swedencentral`,
        `keyVaultSecretsUser on Microsoft.KeyVault/vaults/kv-${token}`,
        `monitoringMetricsPublisher on Microsoft.Insights/components/appi-${token}-swedencentral`,
        `storageBlobDataOwner on Microsoft.Storage/storageAccounts/st${token}swedencen`,
        `storageTableDataContributor on Microsoft.Storage/storageAccounts/ststate${token}`,
      ].sort(),
    );
  });

  it('gives a developer nothing by default, and whoever deploys (deployer(), user or service principal) OpenAI access when asked, with no principal type to get wrong', () => {
    expect(fileParameters.grantDeveloperAccess).toBe(false);
    expect(
      roleAssignments(deployment).filter(({ assignment }) => assignment.properties.principalId === DEPLOYER_OBJECT_ID),
    ).toEqual([]);
    const asked = evaluateDeployment(template, { ...fileParameters, grantDeveloperAccess: true });
    const developer = roleAssignments(asked).filter(
      ({ assignment }) => assignment.properties.principalId === DEPLOYER_OBJECT_ID,
    );
    expect(developer.map(({ module: m, symbol }) => `${m}:${symbol}`)).toEqual([
      'openAi[0]:developerCallsOpenAi',
      'openAi[1]:developerCallsOpenAi',
    ]);
    for (const { assignment } of developer) {
      expect(assignment.name).toBe(
        `guid(${assignment.scope}, ${DEPLOYER_OBJECT_ID}, ${roleId(ROLE.cognitiveServicesOpenAiUser)})`,
      );
      expect(assignment.properties.principalType).toBeNull();
    }
  });

  it.each([
    {
      module: 'openAi[0]',
      symbol: 'developerCallsOpenAi',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-eastus2`,
    },
    {
      module: 'openAi[1]',
      symbol: 'developerCallsOpenAi',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-swedencentral`,
    },
    {
      module: 'keyVault',
      symbol: 'developerReadsSecrets',
      role: ROLE.keyVaultSecretsUser,
      type: 'Microsoft.KeyVault/vaults',
      name: (t: string) => `kv-${t}`,
    },
  ])(
    'grants a named developer $symbol in $module with its principal type, and nobody when access is off',
    ({ module: symbol, symbol: ra, role, type, name }) => {
      const keyed = { ...fileParameters, openAiLocalAuthEnabled: true };
      const named = evaluateDeployment(template, {
        ...keyed,
        grantDeveloperAccess: true,
        developerPrincipalId: DEVELOPER,
      });
      const scope = resourceId(type, name(token));
      expect(evaluateResource(module(named, symbol), ra)).toMatchObject({
        condition: true,
        scope,
        name: `guid(${scope}, ${DEVELOPER}, ${roleId(role)})`,
        properties: { roleDefinitionId: roleId(role), principalId: DEVELOPER, principalType: 'User' },
      });
      const none = evaluateDeployment(template, { ...keyed, grantDeveloperAccess: false });
      expect(evaluateResource(module(none, symbol), ra).condition).toBe(false);
    },
  );

  it('grants nothing beyond the roles listed above, in either mode', () => {
    for (const d of [deployment, twoStamps, withDeveloper]) {
      const granted = roleAssignments(d).map(({ assignment }) => assignment.properties.roleDefinitionId as string);
      expect(new Set(Object.values(ROLE).map(roleId))).toEqual(new Set([...granted, roleId(ROLE.keyVaultSecretsUser)]));
    }
  });
});

describe('Function App', () => {
  it('runs Node 22 on Flex Consumption with deployment storage reached by the user-assigned identity', () => {
    const fa = module(deployment, 'functionApp[0]');
    expect(evaluateResource(fa, 'plan')).toMatchObject({
      sku: { name: 'FC1', tier: 'FlexConsumption' },
      properties: { reserved: true },
    });
    const site = evaluateResource(fa, 'site');
    expect(site).toMatchObject({
      name: `func-api-${token}`,
      kind: 'functionapp,linux',
      location: 'eastus2',
      tags: { 'azd-service-name': 'api' },
      properties: {
        httpsOnly: true,
        functionAppConfig: {
          runtime: { name: 'node', version: '22' },
          scaleAndConcurrency: { instanceMemoryMB: 2048, maximumInstanceCount: 100 },
          deployment: {
            storage: {
              type: 'blobContainer',
              value: `https://st${token}.blob.core.windows.net/app-package`,
              authentication: { type: 'UserAssignedIdentity' },
            },
          },
        },
        siteConfig: {
          minTlsVersion: '1.2',
          ftpsState: 'Disabled',
          cors: { allowedOrigins: [] },
          // One stamp: no Front Door, so the app is its own front door.
          ipSecurityRestrictions: [],
          ipSecurityRestrictionsDefaultAction: 'Allow',
        },
      },
    });
    expect(Object.keys(site.identity.userAssignedIdentities)).toEqual([
      resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', `id-api-${token}`),
    ]);
    expect(site.properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId).toBe(
      Object.keys(site.identity.userAssignedIdentities)[0],
    );
    expect(loop(deployment, 'functionApp')).toHaveLength(1);
    expect(module(deployment, 'frontDoor').deployed).toBe(false);
    expect(module(deployment, 'frontDoorOrigins').deployed).toBe(false);
  });

  it('passes the CORS origins parameter through', () => {
    const d = evaluateDeployment(template, { ...fileParameters, corsAllowedOrigins: ['https://chat.example.com'] });
    expect(evaluateResource(module(d, 'functionApp[0]'), 'site').properties.siteConfig.cors.allowedOrigins).toEqual([
      'https://chat.example.com',
    ]);
  });

  it('sets exactly the app settings the backend and the Functions host read', () => {
    const clientId = `clientId(id-api-${token})`;
    expect(appSettings(deployment)).toEqual({
      AzureWebJobsStorage__accountName: `st${token}`,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      APPLICATIONINSIGHTS_CONNECTION_STRING: expect.stringContaining(`ikey(appi-${token})`),
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=${clientId}`,
      CHAT_REGIONS: expect.any(String),
      CHAT_AUTH_MODE: 'managed-identity',
      CHAT_DEFAULT_MODEL: fileParameters.models[0].modelName,
      AZURE_CLIENT_ID: clientId,
      CHAT_STORAGE_TABLE_ENDPOINT: `https://ststate${token}.table.core.windows.net/`,
      CHAT_RESPONSE_ID_SECRET: `@Microsoft.KeyVault(VaultName=kv-${token};SecretName=chat-response-id-secret)`,
      CHAT_AUTH_CALLERS: 'service',
    });
  });

  it('signs response ids with one Key Vault secret on every stamp, written only when a new value is passed', () => {
    const reference = `@Microsoft.KeyVault(VaultName=kv-${token};SecretName=chat-response-id-secret)`;
    expect([appSettings(twoStamps, 0), appSettings(twoStamps, 1)].map((x) => x.CHAT_RESPONSE_ID_SECRET)).toEqual([
      reference,
      reference,
    ]);
    // A deployment without new values writes no secret, so it changes no setting and restarts nothing.
    expect(copyCountOf(module(twoStamps, 'keyVault'), 'newSecrets')).toBe(0);
    const secret = 'a-secret-kept-in-key-vault-32-chars-long';
    const first = evaluateDeployment(template, { ...twoStampParameters, newResponseIdSecret: secret });
    expect(evaluateCopies(module(first, 'keyVault'), 'newSecrets')).toEqual([
      expect.objectContaining({ name: `kv-${token}/chat-response-id-secret`, properties: { value: secret } }),
    ]);
    expect(appSettings(first, 0).CHAT_RESPONSE_ID_SECRET).toBe(reference);
    // The secret never leaves through an output or an app setting.
    expect(JSON.stringify(first.outputs)).not.toContain(secret);
    expect(JSON.stringify(appSettings(first, 0))).not.toContain(secret);
    expect(template.parameters?.newResponseIdSecret).toMatchObject({ type: 'securestring', defaultValue: '' });
  });

  it("adds the user sign-in settings when an app registration is given, the tenant defaulting to the deployment's", () => {
    const clientId = '99999999-8888-7777-6666-555555555555';
    const d = evaluateDeployment(template, { ...fileParameters, authClientId: clientId });
    expect(appSettings(d)).toMatchObject({
      CHAT_AUTH_CALLERS: 'users,service',
      CHAT_AUTH_AUDIENCE: `${clientId},api://${clientId}`,
      CHAT_AUTH_TENANT_ID: expect.any(String),
      CHAT_SERVICE_KEYS: `@Microsoft.KeyVault(VaultName=kv-${token};SecretName=chat-service-keys)`,
    });
    const usersOnly = evaluateDeployment(template, {
      ...fileParameters,
      authClientId: clientId,
      allowServiceKeys: false,
    });
    expect(appSettings(usersOnly).CHAT_AUTH_CALLERS).toBe('users');
    expect(appSettings(usersOnly)).not.toHaveProperty('CHAT_SERVICE_KEYS');
    expect(appSettings(d).CHAT_AUTH_TENANT_ID).toBe(d.parameters.authTenantId);
    expect(template.parameters?.authTenantId).toMatchObject({ defaultValue: '[tenant().tenantId]' });
    const other = evaluateDeployment(template, {
      ...fileParameters,
      authClientId: clientId,
      authTenantId: 'contoso-tenant',
    });
    expect(appSettings(other).CHAT_AUTH_TENANT_ID).toBe('contoso-tenant');
    expect(d.outputs).toMatchObject({
      CHAT_AUTH_AUDIENCE: `${clientId},api://${clientId}`,
      CHAT_AUTH_TENANT_ID: d.parameters.authTenantId,
    });
  });

  it('gives the app caller settings it starts with: function keys without an app registration, sign-in with one', () => {
    const inAzure = { WEBSITE_SITE_NAME: 'app', WEBSITE_INSTANCE_ID: 'instance' };
    const keysOnly = chatAccess({ ...appSettings(deployment), ...inAzure });
    expect(keysOnly).toMatchObject({ routeAuthLevel: 'function', settings: { callers: ['service'] } });
    const clientId = '99999999-8888-7777-6666-555555555555';
    const withSignIn = evaluateDeployment(template, {
      ...fileParameters,
      authClientId: clientId,
      authTenantId: clientId,
    });
    const access = chatAccess({ ...appSettings(withSignIn), ...inAzure });
    expect(access).toMatchObject({ routeAuthLevel: 'anonymous', settings: { callers: ['users', 'service'] } });
    // In Azure the platform resolves the Key Vault reference before the app reads it.
    expect(access.serviceKeys).toEqual([`@Microsoft.KeyVault(VaultName=kv-${token};SecretName=chat-service-keys)`]);
    expect(access.settings.token?.audiences).toEqual([clientId, `api://${clientId}`]);
    expect(webSignIn({ ...appSettings(withSignIn), ...inAzure })).toEqual({ kind: 'none' });
  });

  it('lets the demo page sign in with MSAL when a SPA registration is given beside the API one', () => {
    const inAzure = { WEBSITE_SITE_NAME: 'app', WEBSITE_INSTANCE_ID: 'instance' };
    const api = '99999999-8888-7777-6666-555555555555';
    const spa = '11111111-2222-3333-4444-555555555555';
    const d = evaluateDeployment(template, {
      ...fileParameters,
      authClientId: api,
      authTenantId: api,
      webClientId: spa,
    });
    expect(appSettings(d).CHAT_WEB_CLIENT_ID).toBe(spa);
    expect(webSignIn({ ...appSettings(d), ...inAzure })).toMatchObject({ kind: 'msal', clientId: spa });
    const spaOnly = evaluateDeployment(template, { ...fileParameters, webClientId: spa });
    expect(appSettings(spaOnly).CHAT_WEB_CLIENT_ID).toBeUndefined();
  });

  it('points the quota module at the shared table endpoint it can parse, and outputs it under the same name', () => {
    const settings = appSettings(deployment);
    expect(quotaSettings(settings).store).toEqual({
      kind: 'endpoint',
      endpoint: `https://ststate${token}.table.core.windows.net`,
    });
    expect(deployment.outputs.CHAT_STORAGE_TABLE_ENDPOINT).toBe(settings.CHAT_STORAGE_TABLE_ENDPOINT);
  });

  it('builds CHAT_REGIONS from the real account endpoints, in priority order, and the backend config loader accepts it', () => {
    const config = loadConfig({ ...appSettings(deployment), WEBSITE_INSTANCE_ID: 'azure' });
    const deployments = Object.fromEntries(
      (fileParameters.models as { modelName: string; deploymentName: string }[]).map((m) => [
        m.modelName,
        m.deploymentName,
      ]),
    );
    expect(config.regions).toEqual([
      { name: 'eastus2', endpoint: `https://oai-${token}-eastus2.openai.azure.com/`, deployments },
      { name: 'swedencentral', endpoint: `https://oai-${token}-swedencentral.openai.azure.com/`, deployments },
    ]);
    expect(config.auth).toEqual({ mode: 'managed-identity', clientId: `clientId(id-api-${token})` });
    expect(config.defaultModel).toBe(fileParameters.models[0].modelName);
  });

  it('outputs CHAT_REGIONS exactly as the app setting, and the API where the app is', () => {
    expect(deployment.outputs.CHAT_REGIONS).toBe(appSettings(deployment).CHAT_REGIONS);
    expect(deployment.outputs).toMatchObject({
      FUNCTION_APP_NAME: `func-api-${token}`,
      FUNCTION_APP_NAMES: [`func-api-${token}`],
      FUNCTION_APP_URL: `https://func-api-${token}.azurewebsites.net`,
      FRONT_DOOR_URL: '',
      API_BASE_URL: `https://func-api-${token}.azurewebsites.net/api`,
    });
  });
});

describe('two stamps behind Front Door', () => {
  const afd = () => `afd-${token}`;

  it('adds a stamp in the secondary region and keeps every name of the primary one', () => {
    const stamp = (d: Deployment, i: number) => ({
      identity: evaluateResource(module(d, `identity[${i}]`), 'identity'),
      site: evaluateResource(module(d, `functionApp[${i}]`), 'site'),
      plan: evaluateResource(module(d, `functionApp[${i}]`), 'plan'),
      storage: evaluateResource(module(d, `storage[${i}]`), 'account'),
      appInsights: evaluateResource(module(d, `monitoring[${i}]`), 'appInsights'),
    });
    const names = (x: ReturnType<typeof stamp>) =>
      Object.fromEntries(Object.entries(x).map(([k, r]) => [k, [r.name, r.location]]));
    expect(names(stamp(twoStamps, 0))).toEqual(names(stamp(deployment, 0)));
    expect(names(stamp(twoStamps, 1))).toEqual({
      identity: [`id-api-${token}-swedencentral`, 'swedencentral'],
      site: [`func-api-${token}-swedencentral`, 'swedencentral'],
      plan: [`plan-${token}-swedencentral`, 'swedencentral'],
      storage: [`st${token}swedencen`, 'swedencentral'],
      appInsights: [`appi-${token}-swedencentral`, 'swedencentral'],
    });
    expect(evaluateResource(module(twoStamps, 'storage[1]'), 'account').name.length).toBeLessThanOrEqual(24);
    expect(loop(twoStamps, 'functionApp')).toHaveLength(2);
    // azd publishes to the one app tagged for it.
    expect(stamp(twoStamps, 1).site.tags).not.toHaveProperty('azd-service-name');
  });

  it("orders each stamp's CHAT_REGIONS local first, and both stamps share the table store", () => {
    const regionsOf = (i: number) =>
      loadConfig({ ...appSettings(twoStamps, i), WEBSITE_INSTANCE_ID: 'azure' }).regions.map((r) => r.name);
    expect(regionsOf(0)).toEqual(['eastus2', 'swedencentral']);
    expect(regionsOf(1)).toEqual(['swedencentral', 'eastus2']);
    expect(appSettings(twoStamps, 1)).toMatchObject({
      AzureWebJobsStorage__accountName: `st${token}swedencen`,
      AZURE_CLIENT_ID: `clientId(id-api-${token}-swedencentral)`,
      APPLICATIONINSIGHTS_CONNECTION_STRING: expect.stringContaining(`ikey(appi-${token}-swedencentral)`),
      CHAT_STORAGE_TABLE_ENDPOINT: appSettings(twoStamps, 0).CHAT_STORAGE_TABLE_ENDPOINT,
    });
    expect(Object.keys(appSettings(twoStamps, 1)).sort()).toEqual(
      [...Object.keys(appSettings(twoStamps, 0)), 'AzureWebJobs.conversations-retention-timer.Disabled'].sort(),
    );
  });

  it('puts the table store in the primary region, geo-redundant, shared keys off', () => {
    expect(evaluateResource(module(twoStamps, 'state'), 'account')).toMatchObject({
      name: `ststate${token}`,
      location: 'eastus2',
      sku: { name: 'Standard_GZRS' },
      properties: { allowSharedKeyAccess: false },
    });
  });

  it('creates a Standard Front Door profile with a WAF that rate-limits each client IP', () => {
    const fd = module(twoStamps, 'frontDoor');
    expect(fd.deployed).toBe(true);
    expect(evaluateResource(fd, 'profile')).toMatchObject({
      name: afd(),
      location: 'global',
      sku: { name: 'Standard_AzureFrontDoor' },
    });
    const waf = evaluateResource(fd, 'wafPolicy');
    expect(waf).toMatchObject({
      type: 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies',
      sku: { name: 'Standard_AzureFrontDoor' },
      properties: { policySettings: { enabledState: 'Enabled', mode: 'Prevention' } },
    });
    expect(waf.properties.customRules.rules).toEqual([
      expect.objectContaining({
        ruleType: 'RateLimitRule',
        rateLimitDurationInMinutes: 1,
        rateLimitThreshold: twoStampParameters.frontDoorRateLimitPerMinute ?? 600,
        groupBy: [{ variableName: 'SocketAddr' }],
        action: 'Block',
      }),
    ]);
    const policy = evaluateResource(fd, 'securityPolicy');
    expect(policy.properties.parameters).toMatchObject({
      type: 'WebApplicationFirewall',
      wafPolicy: { id: resourceId('Microsoft.Network/FrontDoorWebApplicationFirewallPolicies', `waf${token}`) },
      associations: [
        {
          domains: [{ id: resourceId('Microsoft.Cdn/profiles/afdEndpoints', `${afd()}/api-${token}`) }],
          patternsToMatch: ['/*'],
        },
      ],
    });
  });

  it('routes the API over HTTPS only to a priority origin group that probes /api/health', () => {
    const origins = module(twoStamps, 'frontDoorOrigins');
    expect(origins.deployed).toBe(true);
    expect(evaluateResource(origins, 'originGroup').properties).toMatchObject({
      healthProbeSettings: {
        probePath: '/api/health',
        probeRequestType: 'GET',
        probeProtocol: 'Https',
        probeIntervalInSeconds: 20,
      },
      // Failover after 3 failed probes, failback after 2 good ones: about a minute each way at 20 s.
      loadBalancingSettings: { sampleSize: 4, successfulSamplesRequired: 2 },
      sessionAffinityState: 'Disabled',
    });
    expect(
      evaluateCopies(origins, 'origins').map((o: Json) => [
        o.properties.hostName,
        o.properties.originHostHeader,
        o.properties.priority,
        o.properties.enforceCertificateNameCheck,
      ]),
    ).toEqual([
      [`func-api-${token}.azurewebsites.net`, `func-api-${token}.azurewebsites.net`, 1, true],
      [
        `func-api-${token}-swedencentral.azurewebsites.net`,
        `func-api-${token}-swedencentral.azurewebsites.net`,
        2,
        true,
      ],
    ]);
    const route = evaluateResource(origins, 'route');
    expect(route.properties).toMatchObject({
      originGroup: { id: resourceId('Microsoft.Cdn/profiles/originGroups', `${afd()}/stamps`) },
      supportedProtocols: ['Https'],
      forwardingProtocol: 'HttpsOnly',
      patternsToMatch: ['/api/*'],
      linkToDefaultDomain: 'Enabled',
    });
    expect(route.properties).not.toHaveProperty('cacheConfiguration');
    expect(route.dependsOn).toEqual(expect.arrayContaining([expect.stringContaining('origins')]));
  });

  it('lets each Function App answer only its Front Door', () => {
    for (const i of [0, 1]) {
      const siteConfig = evaluateResource(module(twoStamps, `functionApp[${i}]`), 'site').properties.siteConfig;
      expect(siteConfig).toMatchObject({
        ipSecurityRestrictions: [
          {
            action: 'Allow',
            tag: 'ServiceTag',
            ipAddress: 'AzureFrontDoor.Backend',
            headers: { 'x-azure-fdid': [`frontDoorId(${afd()})`] },
          },
        ],
        ipSecurityRestrictionsDefaultAction: 'Deny',
        scmIpSecurityRestrictionsUseMain: false,
      });
    }
  });

  it('outputs the Front Door URL as the API base and every app to publish to', () => {
    expect(twoStamps.outputs).toMatchObject({
      FRONT_DOOR_URL: `https://api-${token}-hash.z01.azurefd.net`,
      API_BASE_URL: `https://api-${token}-hash.z01.azurefd.net/api`,
      FUNCTION_APP_NAME: `func-api-${token}`,
      FUNCTION_APP_NAMES: [`func-api-${token}`, `func-api-${token}-swedencentral`],
      CHAT_REGIONS: appSettings(twoStamps, 0).CHAT_REGIONS,
    });
  });
});

describe('Table Storage', () => {
  it('creates the quotas and conversations tables in the shared state account', () => {
    const state = module(deployment, 'state');
    expect(state.template.resources['account::tableService::tables'].copy).toMatchObject({
      count: "[length(parameters('tableNames'))]",
    });
    expect(evaluateCopies(state, 'account::tableService::tables').map((t: Json) => [t.type, t.name])).toEqual([
      ['Microsoft.Storage/storageAccounts/tableServices/tables', `ststate${token}/default/quotas`],
      ['Microsoft.Storage/storageAccounts/tableServices/tables', `ststate${token}/default/conversations`],
    ]);
    expect(quotaSettings({}).table).toBe('quotas');
    // Host storage holds no tables any more.
    expect(Object.keys(module(deployment, 'storage[0]').template.resources).join()).not.toMatch(/table/i);
  });
});

describe('locked down, logged and alerted', () => {
  it('turns off FTP and basic publishing credentials and closes the publishing (scm) site on every stamp', () => {
    for (const d of [deployment, twoStamps]) {
      for (const fa of loop(d, 'functionApp')) {
        const site = evaluateResource(fa, 'site');
        for (const [symbol, kind] of [
          ['site::ftpCredentials', 'ftp'],
          ['site::scmCredentials', 'scm'],
        ] as const) {
          expect(evaluateResource(fa, symbol)).toMatchObject({
            type: 'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
            name: `${site.name}/${kind}`,
            properties: { allow: false },
          });
        }
        expect(site.properties.siteConfig).toMatchObject({
          ftpsState: 'Disabled',
          scmIpSecurityRestrictionsUseMain: false,
          scmIpSecurityRestrictions: [],
          scmIpSecurityRestrictionsDefaultAction: 'Deny',
        });
      }
    }
  });

  it("sends the logs and metrics of every resource that has them to Log Analytics: its stamp's, or the primary one's when shared", () => {
    const loggable = [
      'Microsoft.Web/sites',
      'Microsoft.CognitiveServices/accounts',
      'Microsoft.Storage/storageAccounts/blobServices',
      'Microsoft.Storage/storageAccounts/tableServices',
      'Microsoft.KeyVault/vaults',
      'Microsoft.Cdn/profiles',
    ];
    const workspace = (suffix: string) =>
      resourceId('Microsoft.OperationalInsights/workspaces', `log-${token}${suffix}`);
    const covered: string[] = [];
    for (const m of Object.values(twoStamps.modules).filter((x) => x.deployed)) {
      const resources = Object.entries(m.template.resources).filter(([, r]) => !r.existing && !r.copy);
      const settings = resources
        .filter(([, r]) => r.type === 'Microsoft.Insights/diagnosticSettings')
        .map(([symbol]) => evaluateResource(m, symbol));
      for (const [symbol, r] of resources.filter(([, r]) => loggable.includes(r.type))) {
        const id = `${resourceId(r.type, evaluateResource(m, symbol).name)}`;
        const setting = settings.find((x) => x.scope === id);
        expect(setting, `${m.symbol} ${symbol} has no diagnostic setting`).toBeDefined();
        const stampSuffix = m.symbol.endsWith('[1]') && !m.symbol.startsWith('openAi') ? '-swedencentral' : '';
        expect(setting.properties.workspaceId).toBe(workspace(stampSuffix));
        expect(setting.properties.logs ?? []).toEqual(
          expect.arrayContaining([expect.objectContaining({ enabled: true })]),
        );
        covered.push(`${m.symbol}:${r.type}`);
      }
    }
    expect(covered.sort()).toEqual(
      [
        'functionApp[0]:Microsoft.Web/sites',
        'functionApp[1]:Microsoft.Web/sites',
        'openAi[0]:Microsoft.CognitiveServices/accounts',
        'openAi[1]:Microsoft.CognitiveServices/accounts',
        'storage[0]:Microsoft.Storage/storageAccounts/blobServices',
        'storage[1]:Microsoft.Storage/storageAccounts/blobServices',
        'state:Microsoft.Storage/storageAccounts/tableServices',
        'keyVault:Microsoft.KeyVault/vaults',
        'frontDoor:Microsoft.Cdn/profiles',
      ].sort(),
    );
  });

  it('alerts on every region failing, the 5xx rate and throttling, notifying the action group given', () => {
    const group = '/subscriptions/s/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/oncall';
    const d = evaluateDeployment(template, { ...twoStampParameters, alertActionGroupId: group });
    for (const [i, suffix] of [
      [0, ''],
      [1, '-swedencentral'],
    ] as const) {
      const alerts = module(d, `alerts[${i}]`);
      const failed = evaluateResource(alerts, 'allRegionsFailed');
      expect(failed).toMatchObject({
        type: 'Microsoft.Insights/scheduledQueryRules',
        kind: 'LogAlert',
        properties: {
          scopes: [resourceId('Microsoft.Insights/components', `appi-${token}${suffix}`)],
          criteria: { allOf: [{ query: 'customEvents | where name == "AllRegionsFailed"', threshold: 0 }] },
          actions: { actionGroups: [group] },
        },
      });
      const http5xx = evaluateResource(alerts, 'http5xx');
      expect(http5xx.properties).toMatchObject({
        scopes: [resourceId('Microsoft.Web/sites', `func-api-${token}${suffix}`)],
        criteria: { allOf: [{ metricName: 'Http5xx', threshold: 10 }] },
        actions: [{ actionGroupId: group }],
      });
    }
    // Each account's throttling once, from the primary stamp.
    const throttled = evaluateCopies(module(d, 'alerts[0]'), 'throttled');
    expect(throttled.map((a: Json) => String(a.properties.scopes[0]).split('/').pop())).toEqual([
      `oai-${token}-eastus2`,
      `oai-${token}-swedencentral`,
    ]);
    expect(throttled[0].properties.criteria.allOf[0]).toMatchObject({
      metricName: 'AzureOpenAIRequests',
      dimensions: [{ name: 'StatusCode', operator: 'Include', values: ['429'] }],
    });
    expect(copyCountOf(module(d, 'alerts[1]'), 'throttled')).toBe(0);
    // Without an action group they still fire (in the portal), notifying nobody.
    expect(evaluateResource(module(deployment, 'alerts[0]'), 'http5xx').properties.actions).toEqual([]);
  });

  it('deploys the stamps one at a time, stamp 2 in its own group and region, Front Door in a global group', () => {
    expect(template.resources.functionApp.copy).toMatchObject({ mode: 'serial', batchSize: 1 });
    const scopeOf = (symbol: string) => template.resources[symbol].resourceGroup;
    expect(scopeOf('functionApp')).toBe("[variables('stampGroupNames')[copyIndex()]]");
    expect(twoStamps.variables.stampGroupNames).toEqual([
      `rg-${fileParameters.environmentName}`,
      `rg-${fileParameters.environmentName}-swedencentral`,
    ]);
    expect(scopeOf('frontDoor')).toBe(`[format('rg-{0}-global', parameters('environmentName'))]`);
    expect(twoStamps.outputs.FUNCTION_APP_RESOURCE_GROUPS).toEqual(twoStamps.variables.stampGroupNames);
  });

  it('runs the retention timer in the primary stamp only: the conversations table is shared', () => {
    expect(appSettings(twoStamps, 0)).not.toHaveProperty('AzureWebJobs.conversations-retention-timer.Disabled');
    expect(appSettings(twoStamps, 1)['AzureWebJobs.conversations-retention-timer.Disabled']).toBe('true');
  });

  it('takes zone redundancy and always-ready instances as parameters, off by default', () => {
    const fa = (d: Deployment) => module(d, 'functionApp[0]');
    expect(evaluateResource(fa(deployment), 'plan').properties.zoneRedundant).toBe(false);
    expect(
      evaluateResource(fa(deployment), 'site').properties.functionAppConfig.scaleAndConcurrency.alwaysReady,
    ).toEqual([]);
    const warm = evaluateDeployment(template, {
      ...fileParameters,
      zoneRedundant: true,
      functionAlwaysReadyInstances: 2,
    });
    expect(evaluateResource(fa(warm), 'plan').properties.zoneRedundant).toBe(true);
    expect(evaluateResource(fa(warm), 'site').properties.functionAppConfig.scaleAndConcurrency.alwaysReady).toEqual([
      { name: 'http', instanceCount: 2 },
    ]);
  });
});

describe('security properties', () => {
  it('turns off shared key access on every storage account', () => {
    for (const [symbol, resource] of [
      ['storage[0]', 'account'],
      ['state', 'account'],
    ] as const) {
      expect(evaluateResource(module(twoStamps, symbol), resource).properties).toMatchObject({
        allowSharedKeyAccess: false,
        allowBlobPublicAccess: false,
        minimumTlsVersion: 'TLS1_2',
      });
    }
  });

  it('authorizes Key Vault by RBAC, with soft delete and purge protection', () => {
    const keyed = evaluateDeployment(template, { ...fileParameters, openAiLocalAuthEnabled: true });
    expect(evaluateResource(module(keyed, 'keyVault'), 'vault').properties).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
  });

  it('disables local auth on Application Insights so telemetry uses Entra ID', () => {
    for (const m of loop(twoStamps, 'monitoring')) {
      expect(evaluateResource(m, 'appInsights').properties.DisableLocalAuth).toBe(true);
    }
  });

  it('puts no secret in any output of any template', () => {
    const templates: { where: string; t: Template }[] = [
      { where: 'main', t: template },
      ...Object.values(twoStamps.modules).map((m) => ({ where: m.symbol, t: m.template })),
    ];
    for (const { where, t } of templates) {
      for (const [name, output] of Object.entries(t.outputs ?? {})) {
        expect(output.type ?? '', `${where}.${name}`).not.toMatch(/^secure/i);
        expect(JSON.stringify(output), `${where}.${name}`).not.toMatch(/list[A-Za-z]*\(/);
      }
      for (const [name, param] of Object.entries(t.parameters ?? {})) {
        // Secrets pass through parameters only once, new: deploy.sh generates a Key Vault secret the
        // vault lacks, and the vault module writes it (the apps read it by Key Vault reference).
        if (RESPONSE_ID_SECRET_PARAMETERS.includes(name)) continue;
        expect((param as { type?: string }).type ?? '', `${where} parameter ${name}`).not.toMatch(/^secure/i);
      }
    }
    expect(Object.keys(template.outputs ?? {}).sort()).toEqual(
      [
        'API_BASE_URL',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AZURE_CLIENT_ID',
        'AZURE_LOCATION',
        'AZURE_TENANT_ID',
        'CHAT_AUTH_AUDIENCE',
        'CHAT_AUTH_TENANT_ID',
        'CHAT_DEFAULT_MODEL',
        'CHAT_REGIONS',
        'CHAT_STORAGE_TABLE_ENDPOINT',
        'FRONT_DOOR_URL',
        'CHAT_WEB_CLIENT_ID',
        'FUNCTION_APP_NAME',
        'FUNCTION_APP_NAMES',
        'FUNCTION_APP_RESOURCE_GROUPS',
        'FUNCTION_APP_URL',
        'FUNCTION_APP_URLS',
        'KEY_VAULT_ID',
        'KEY_VAULT_URL',
        'RESOURCE_GROUP',
      ].sort(),
    );
  });

  it('calls listKeys only to write the Key Vault secret', () => {
    const uses = Object.values(twoStamps.modules).flatMap((m) =>
      Object.entries(m.template.resources)
        .filter(([, r]) => JSON.stringify(r).includes('listKeys('))
        .map(([symbol, r]) => `${symbol}:${r.type}`),
    );
    expect(uses).toEqual([
      'keySecret:Microsoft.KeyVault/vaults/secrets',
      'keySecret:Microsoft.KeyVault/vaults/secrets',
    ]);
  });
});
