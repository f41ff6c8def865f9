/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   ARM template JSON is untyped; these helpers and tests walk it as `any` on purpose. */
import { beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config.js';
import { chatAccess } from '../../shared/auth/access.js';
import { quotaSettings } from '../../shared/quota/settings.js';
import type { Json, Template } from './arm.js';
import { compileInfra, SUBSCRIPTION_ID, uniqueString } from './arm.js';
import type { Deployment, EvaluatedModule } from './deployment.js';
import { evaluateDeployment, evaluateResource } from './deployment.js';

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

let template: Template;
let fileParameters: Record<string, Json>;
let deployment: Deployment;
let withDeveloper: Deployment;
let token: string;
let checkLog: string;

function module(d: Deployment, symbol: string): EvaluatedModule {
  const m = d.modules[symbol];
  if (!m) throw new Error(`no module ${symbol}; have ${Object.keys(d.modules).join(', ')}`);
  return m;
}
function openAiModules(d: Deployment): EvaluatedModule[] {
  return Object.keys(d.modules)
    .filter((k) => k.startsWith('openAi['))
    .map((k) => module(d, k));
}
function appSettings(d: Deployment): Record<string, string> {
  return evaluateResource(module(d, 'functionApp'), 'site::appSettings').properties;
}

beforeAll(() => {
  const compiled = compileInfra();
  template = compiled.template;
  fileParameters = compiled.parameters;
  checkLog = compiled.log;
  deployment = evaluateDeployment(template, fileParameters);
  withDeveloper = evaluateDeployment(template, { ...fileParameters, developerPrincipalId: DEVELOPER });
  token = uniqueString(
    `/subscriptions/${SUBSCRIPTION_ID}`,
    fileParameters.environmentName,
    fileParameters.primaryLocation,
  );
}, 180_000);

describe('infra/main.bicep compiled with the pinned Bicep CLI', () => {
  it('builds and lints with zero warnings', () => {
    // check.sh already fails on any warning; this guards against it being loosened.
    expect(checkLog).toMatch(/ok {3}lint infra\/main\.bicep \(0 warnings\)/);
    expect(checkLog).not.toMatch(/Warning|Error/);
  });

  it('deploys at subscription scope and creates the resource group in the primary region', () => {
    expect(template).toHaveProperty('$schema', expect.stringContaining('subscriptionDeploymentTemplate.json'));
    const rg = evaluateResource(
      {
        symbol: 'main',
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
  it('loops one module over the regions parameter, primary first', () => {
    expect(template.variables?.regions).toEqual([
      "[parameters('primaryLocation')]",
      "[parameters('secondaryLocation')]",
    ]);
    expect(template.resources.openAi.copy).toEqual({ name: 'openAi', count: "[length(variables('regions'))]" });
    expect(deployment.variables.regions).toEqual(['eastus2', 'swedencentral']);
  });

  it('creates two accounts in two different regions from the parameter file', () => {
    const accounts = openAiModules(deployment).map((m) => evaluateResource(m, 'account'));
    expect(accounts).toHaveLength(2);
    expect(accounts.map((a) => a.location)).toEqual(['eastus2', 'swedencentral']);
    expect(new Set(accounts.map((a) => a.name)).size).toBe(2);
    for (const account of accounts) {
      expect(account).toMatchObject({
        type: 'Microsoft.CognitiveServices/accounts',
        kind: 'OpenAI',
        sku: { name: 'S0' },
        properties: { customSubDomainName: account.name, disableLocalAuth: false },
      });
      expect(account.name).toBe(`oai-${token}-${account.location}`);
    }
  });

  it('disables local auth on every account when openAiLocalAuthEnabled is false, and stores no key', () => {
    const keyless = evaluateDeployment(template, { ...fileParameters, openAiLocalAuthEnabled: false });
    for (const m of openAiModules(keyless)) {
      expect(evaluateResource(m, 'account').properties.disableLocalAuth).toBe(true);
      expect(evaluateResource(m, 'keySecret').condition).toBe(false);
      expect(m.outputs.chatRegion).not.toHaveProperty('keySecretName');
    }
  });

  it('deploys every model on each account one at a time (batchSize 1)', () => {
    const models = fileParameters.models as {
      modelName: string;
      modelVersion: string;
      deploymentName: string;
      skuName: string;
      capacity: number;
    }[];
    expect(models.map((m) => m.modelName)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    for (const m of openAiModules(deployment)) {
      const loop = m.template.resources.deployments;
      expect(loop.copy).toMatchObject({ mode: 'serial', batchSize: 1, count: "[length(parameters('models'))]" });
      const accountName = evaluateResource(m, 'account').name;
      models.forEach((model, i) => {
        expect(evaluateResource(m, 'deployments', i)).toMatchObject({
          type: 'Microsoft.CognitiveServices/accounts/deployments',
          name: `${accountName}/${model.deploymentName}`,
          sku: { name: model.skuName, capacity: model.capacity },
          properties: { model: { format: 'OpenAI', name: model.modelName, version: model.modelVersion } },
        });
      });
    }
  });

  it('writes each account key into Key Vault with listKeys only when local auth is on', () => {
    for (const m of openAiModules(deployment)) {
      const secret = m.template.resources.keySecret;
      expect(secret.condition).toBe("[parameters('localAuthEnabled')]");
      expect(secret.properties.value).toBe(`[listKeys('account', '${m.template.resources.account.apiVersion}').key1]`);
      expect(evaluateResource(m, 'keySecret')).toMatchObject({
        condition: true,
        name: `kv-${token}/openai-key-${m.parameters.location}`,
        properties: { value: 'listKeys(account).key1' },
      });
    }
  });
});

describe('role assignments', () => {
  const appPrincipal = () => `principalId(id-api-${token})`;
  const identityId = () => resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', `id-api-${token}`);

  it.each([
    {
      module: 'openAi[0]',
      symbol: 'appCallsOpenAi',
      roleName: 'Cognitive Services OpenAI User',
      target: 'the eastus2 account',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-eastus2`,
    },
    {
      module: 'openAi[1]',
      symbol: 'appCallsOpenAi',
      roleName: 'Cognitive Services OpenAI User',
      target: 'the swedencentral account',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-swedencentral`,
    },
    {
      module: 'storage',
      symbol: 'appOwnsBlobs',
      roleName: 'Storage Blob Data Owner',
      target: 'the storage account',
      role: ROLE.storageBlobDataOwner,
      type: 'Microsoft.Storage/storageAccounts',
      name: (t: string) => `st${t}`,
    },
    {
      module: 'storage',
      symbol: 'appUsesTables',
      roleName: 'Storage Table Data Contributor',
      target: 'the storage account (per-user quotas, conversations)',
      role: ROLE.storageTableDataContributor,
      type: 'Microsoft.Storage/storageAccounts',
      name: (t: string) => `st${t}`,
    },
    {
      module: 'monitoring',
      symbol: 'appPublishesTelemetry',
      roleName: 'Monitoring Metrics Publisher',
      target: 'Application Insights',
      role: ROLE.monitoringMetricsPublisher,
      type: 'Microsoft.Insights/components',
      name: (t: string) => `appi-${t}`,
    },
  ])('the app identity gets $roleName on $target', ({ module: symbol, symbol: ra, role, type, name }) => {
    const assignment = evaluateResource(module(deployment, symbol), ra);
    const scope = resourceId(type, name(token));
    expect(assignment).toMatchObject({
      type: 'Microsoft.Authorization/roleAssignments',
      scope,
      name: `guid(${scope}, ${identityId()}, ${roleId(role)})`,
      properties: { roleDefinitionId: roleId(role), principalId: appPrincipal(), principalType: 'ServicePrincipal' },
    });
    expect(assignment).not.toHaveProperty('condition');
  });

  it.each([
    {
      module: 'openAi[0]',
      symbol: 'developerCallsOpenAi',
      roleName: 'Cognitive Services OpenAI User',
      target: 'the eastus2 account',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-eastus2`,
    },
    {
      module: 'openAi[1]',
      symbol: 'developerCallsOpenAi',
      roleName: 'Cognitive Services OpenAI User',
      target: 'the swedencentral account',
      role: ROLE.cognitiveServicesOpenAiUser,
      type: 'Microsoft.CognitiveServices/accounts',
      name: (t: string) => `oai-${t}-swedencentral`,
    },
    {
      module: 'keyVault',
      symbol: 'developerReadsSecrets',
      roleName: 'Key Vault Secrets User',
      target: 'the vault',
      role: ROLE.keyVaultSecretsUser,
      type: 'Microsoft.KeyVault/vaults',
      name: (t: string) => `kv-${t}`,
    },
  ])(
    'the developer principal gets $roleName on $target, and nobody does when developerPrincipalId is empty',
    ({ module: symbol, symbol: ra, role, type, name }) => {
      const scope = resourceId(type, name(token));
      expect(evaluateResource(module(withDeveloper, symbol), ra)).toMatchObject({
        condition: true,
        scope,
        name: `guid(${scope}, ${DEVELOPER}, ${roleId(role)})`,
        properties: { roleDefinitionId: roleId(role), principalId: DEVELOPER, principalType: 'User' },
      });
      expect(evaluateResource(module(deployment, symbol), ra).condition).toBe(false);
    },
  );

  it('grants nothing beyond the roles listed above', () => {
    const granted = Object.values(deployment.modules).flatMap((m) =>
      Object.entries(m.template.resources)
        .filter(([, r]) => r.type === 'Microsoft.Authorization/roleAssignments')
        .map(([symbol]) => evaluateResource(m, symbol).properties.roleDefinitionId as string),
    );
    expect(new Set(granted)).toEqual(new Set(Object.values(ROLE).map(roleId)));
  });
});

describe('Function App', () => {
  it('runs Node 22 on Flex Consumption with deployment storage reached by the user-assigned identity', () => {
    const fa = module(deployment, 'functionApp');
    expect(evaluateResource(fa, 'plan')).toMatchObject({
      sku: { name: 'FC1', tier: 'FlexConsumption' },
      properties: { reserved: true },
    });
    const site = evaluateResource(fa, 'site');
    expect(site).toMatchObject({
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
        siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled', cors: { allowedOrigins: [] } },
      },
    });
    expect(Object.keys(site.identity.userAssignedIdentities)).toHaveLength(1);
    expect(site.properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId).toBe(
      Object.keys(site.identity.userAssignedIdentities)[0],
    );
    expect(Object.keys(site.identity.userAssignedIdentities)[0]).toBe(
      resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', `id-api-${token}`),
    );
  });

  it('passes the CORS origins parameter through', () => {
    const d = evaluateDeployment(template, { ...fileParameters, corsAllowedOrigins: ['https://chat.example.com'] });
    expect(evaluateResource(module(d, 'functionApp'), 'site').properties.siteConfig.cors.allowedOrigins).toEqual([
      'https://chat.example.com',
    ]);
  });

  it('sets exactly the app settings the backend and the Functions host read', () => {
    const settings = appSettings(deployment);
    const clientId = `clientId(id-api-${token})`;
    expect(settings).toEqual({
      AzureWebJobsStorage__accountName: `st${token}`,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      APPLICATIONINSIGHTS_CONNECTION_STRING: expect.stringContaining(`ikey(appi-${token})`),
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=${clientId}`,
      CHAT_REGIONS: expect.any(String),
      CHAT_AUTH_MODE: 'managed-identity',
      CHAT_DEFAULT_MODEL: 'gpt-4o',
      AZURE_CLIENT_ID: clientId,
      KEY_VAULT_URL: `https://kv-${token}.vault.azure.net/`,
      CHAT_STORAGE_TABLE_ENDPOINT: `https://st${token}.table.core.windows.net/`,
      CHAT_AUTH_CALLERS: 'service',
    });
  });

  it("adds the user sign-in settings when an app registration is given, the tenant defaulting to the deployment's", () => {
    const clientId = '99999999-8888-7777-6666-555555555555';
    const d = evaluateDeployment(template, { ...fileParameters, authClientId: clientId });
    expect(appSettings(d)).toMatchObject({
      CHAT_AUTH_CALLERS: 'users',
      CHAT_AUTH_AUDIENCE: `${clientId},api://${clientId}`,
      CHAT_AUTH_TENANT_ID: expect.any(String),
    });
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
    expect(access).toMatchObject({ routeAuthLevel: 'anonymous', settings: { callers: ['users'] } });
    expect(access.settings.token?.audiences).toEqual([clientId, `api://${clientId}`]);
  });

  it('points the quota module at the table endpoint it can parse, and outputs it under the same name', () => {
    const settings = appSettings(deployment);
    expect(quotaSettings(settings).store).toEqual({
      kind: 'endpoint',
      endpoint: `https://st${token}.table.core.windows.net`,
    });
    expect(deployment.outputs.CHAT_STORAGE_TABLE_ENDPOINT).toBe(settings.CHAT_STORAGE_TABLE_ENDPOINT);
  });

  it('builds CHAT_REGIONS from the real account endpoints, in priority order, and the backend config loader accepts it', () => {
    const settings = appSettings(deployment);
    expect(module(deployment, 'functionApp').template.variables?.chatRegionsJson).toBe(
      "[string(parameters('chatRegions'))]",
    );
    const config = loadConfig({ ...settings, WEBSITE_INSTANCE_ID: 'azure' });
    expect(config.regions).toEqual([
      {
        name: 'eastus2',
        endpoint: `https://oai-${token}-eastus2.openai.azure.com/`,
        deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' },
        keySecretName: 'openai-key-eastus2',
      },
      {
        name: 'swedencentral',
        endpoint: `https://oai-${token}-swedencentral.openai.azure.com/`,
        deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' },
        keySecretName: 'openai-key-swedencentral',
      },
    ]);
    expect(config.auth).toEqual({ mode: 'managed-identity', clientId: `clientId(id-api-${token})` });
    expect(config.defaultModel).toBe('gpt-4o');
  });

  it('leaves keySecretName out of CHAT_REGIONS when local auth is off, and the loader still accepts it', () => {
    const keyless = evaluateDeployment(template, { ...fileParameters, openAiLocalAuthEnabled: false });
    const settings = appSettings(keyless);
    expect(settings.CHAT_REGIONS).not.toContain('keySecretName');
    expect(loadConfig({ ...settings, WEBSITE_INSTANCE_ID: 'azure' }).regions).toHaveLength(2);
  });

  it('outputs CHAT_REGIONS exactly as the app setting', () => {
    expect(deployment.outputs.CHAT_REGIONS).toBe(appSettings(deployment).CHAT_REGIONS);
  });
});

describe('Table Storage', () => {
  it("creates the quotas and conversations tables in the app's storage account", () => {
    const storage = module(deployment, 'storage');
    expect(storage.template.resources['account::tableService::tables'].copy).toMatchObject({
      count: "[length(parameters('tableNames'))]",
    });
    const tables = [0, 1].map((i) => evaluateResource(storage, 'account::tableService::tables', i));
    expect(tables.map((t) => [t.type, t.name])).toEqual([
      ['Microsoft.Storage/storageAccounts/tableServices/tables', `st${token}/default/quotas`],
      ['Microsoft.Storage/storageAccounts/tableServices/tables', `st${token}/default/conversations`],
    ]);
    expect(quotaSettings({}).table).toBe('quotas');
  });
});

describe('security properties', () => {
  it('turns off shared key access on the storage account', () => {
    expect(evaluateResource(module(deployment, 'storage'), 'account').properties).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
    });
  });

  it('authorizes Key Vault by RBAC, with soft delete and purge protection', () => {
    expect(evaluateResource(module(deployment, 'keyVault'), 'vault').properties).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
  });

  it('disables local auth on Application Insights so telemetry uses Entra ID', () => {
    expect(evaluateResource(module(deployment, 'monitoring'), 'appInsights').properties.DisableLocalAuth).toBe(true);
  });

  it('puts no secret in any output of any template', () => {
    const templates: { where: string; t: Template }[] = [
      { where: 'main', t: template },
      ...Object.values(deployment.modules).map((m) => ({ where: m.symbol, t: m.template })),
    ];
    for (const { where, t } of templates) {
      for (const [name, output] of Object.entries(t.outputs ?? {})) {
        expect(output.type ?? '', `${where}.${name}`).not.toMatch(/^secure/i);
        expect(JSON.stringify(output.value), `${where}.${name}`).not.toMatch(/list[A-Za-z]*\(/);
      }
      for (const [name, param] of Object.entries(t.parameters ?? {})) {
        expect((param as { type?: string }).type ?? '', `${where} parameter ${name}`).not.toMatch(/^secure/i);
      }
    }
    expect(Object.keys(template.outputs ?? {}).sort()).toEqual(
      [
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AZURE_CLIENT_ID',
        'AZURE_LOCATION',
        'AZURE_TENANT_ID',
        'CHAT_AUTH_AUDIENCE',
        'CHAT_AUTH_TENANT_ID',
        'CHAT_DEFAULT_MODEL',
        'CHAT_REGIONS',
        'CHAT_STORAGE_TABLE_ENDPOINT',
        'FUNCTION_APP_NAME',
        'FUNCTION_APP_URL',
        'KEY_VAULT_URL',
        'RESOURCE_GROUP',
      ].sort(),
    );
  });

  it('calls listKeys only to write the Key Vault secret', () => {
    const uses = Object.values(deployment.modules).flatMap((m) =>
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
