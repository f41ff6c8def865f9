import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { repoRoot } from './arm.js';
import type { Site, StandInAz, StandInState } from './stand-in-az.js';
import { defaultScenario, offeredModel, standInAz, startSite } from './stand-in-az.js';

// `npm run deploy` from the preflight to the smoke test, with the real Bicep CLI compiling the real
// parameter file, an `az` stand-in answering in the CLI's shapes, and a local server standing in
// for the deployed API.

const DAY = 86_400_000;
let site: Site | undefined;
afterEach(async () => {
  await site?.close();
  site = undefined;
});

beforeAll(() => {
  execFileSync('bash', [join(repoRoot, '.ci/install-bicep.sh')], { cwd: repoRoot, stdio: 'ignore' });
}, 180_000);

/** The command words of each call: everything before its first option. */
const verbs = (calls: string[][]) =>
  calls.map((c) => {
    const first = c.findIndex((a) => a.startsWith('-'));
    return (first === -1 ? c : c.slice(0, first)).join(' ');
  });
const option = (call: string[], name: string) => call[call.indexOf(name) + 1];

async function deployed(scenario: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const holder: { az?: StandInAz } = {};
  site = await startSite(() => holder.az!);
  const az = (holder.az = standInAz({ ...scenario, siteUrl: site.url, frontDoorUrl: site.url, ...extra }));
  const zip = join(az.dir, 'app.zip');
  writeFileSync(zip, 'PK');
  return { az, zip, site };
}

describe('npm run deploy against the az stand-in', () => {
  it('one stamp: preflight, sign-in registrations, secrets made once, deployment, redirect URIs, publish through a briefly opened scm site, deep smoke test', async () => {
    const { az, zip, site: api } = await deployed(defaultScenario());
    const run = await az.run(['--env', 'demo1', '--package', zip]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('preflight: ok: 2 model(s) deployable with quota in 2 region(s)');

    const calls = az.calls();
    expect(verbs(calls)).toEqual([
      'cognitiveservices model list',
      'cognitiveservices usage list',
      'cognitiveservices model list',
      'cognitiveservices usage list',
      'group exists',
      'cognitiveservices account list-deleted',
      'keyvault list-deleted',
      'ad app list',
      'ad app create',
      'ad sp show',
      'ad sp create',
      'ad app update',
      'rest',
      'ad app list',
      'ad app create',
      'ad sp show',
      'ad sp create',
      'deployment sub show',
      'deployment sub what-if',
      'deployment sub create',
      'rest',
      'functionapp config access-restriction add',
      'functionapp deploy',
      'functionapp config access-restriction remove',
      'functionapp keys list',
    ]);

    const state = az.state();
    const [apiApp, webApp] = state.apps as [StandInState['apps'][number], StandInState['apps'][number]];
    expect(apiApp).toMatchObject({ displayName: 'chat-api-demo1', identifierUris: [`api://${apiApp.appId}`] });
    expect(apiApp.api).toMatchObject({
      requestedAccessTokenVersion: 2,
      oauth2PermissionScopes: [expect.objectContaining({ value: 'chat', type: 'User', isEnabled: true })],
    });
    expect(webApp.displayName).toBe('chat-web-demo1');
    expect(webApp.spa.redirectUris).toEqual([`${api.url}/api/web/`, `${api.url}/api/web/redirect.html`]);
    expect(state.servicePrincipals.map((sp) => sp.appId)).toEqual([apiApp.appId, webApp.appId]);

    // The template got both client ids and, this first time, a value for each secret.
    const { parameters } = state.deployments.demo1!;
    expect(parameters).toMatchObject({ authClientId: apiApp.appId, webClientId: webApp.appId, twoStamps: 'false' });
    expect(parameters.newResponseIdSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(parameters.newServiceKeys).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(existsSync(join(repoRoot, '.deploy/secrets.parameters.json'))).toBe(false);
    // No secret value is ever on a command line or in the output.
    expect(JSON.stringify(calls)).not.toContain(parameters.newResponseIdSecret);
    expect(run.stdout + run.stderr).not.toContain(parameters.newResponseIdSecret);
    expect(run.stdout + run.stderr).not.toContain(state.functionKeys['func-api-tokdemo1']);

    // Published with the scm site open to this machine only while uploading.
    expect(state.published).toEqual([
      {
        app: 'func-api-tokdemo1',
        group: 'rg-demo1',
        scmRules: [{ name: 'deploy-client', ip: '203.0.113.7/32', scm: 'true' }],
      },
    ]);
    expect(state.accessRules['func-api-tokdemo1']).toEqual([]);

    // The smoke test asked the deep health with the primary stamp's function key, which passed.
    expect(api.requests).toEqual([{ path: '/api/health/deep', key: state.functionKeys['func-api-tokdemo1'] }]);
    expect(run.stderr).toContain('deploy: smoke test passed');
  }, 600_000);

  it('a second run reuses the registrations and keeps the secrets: none is generated or passed again', async () => {
    const { az, zip } = await deployed(defaultScenario());
    expect((await az.run(['--env', 'demo1', '--package', zip])).status).toBe(0);
    const first = az.calls().length;
    const again = await az.run(['--env', 'demo1', '--package', zip]);
    expect(again.status, again.stderr).toBe(0);
    const second = az.calls().slice(first);
    expect(verbs(second)).not.toContain('ad app create');
    expect(verbs(second)).not.toContain('ad sp create');
    expect(verbs(second).filter((v) => v === 'resource show')).toHaveLength(2);
    const create = second.find((c) => verbs([c])[0] === 'deployment sub create')!;
    expect(create.some((a) => a.startsWith('@'))).toBe(false);
    expect(az.state().deployments.demo1!.parameters).not.toHaveProperty('newResponseIdSecret');
    expect(az.state().apps).toHaveLength(2);
    expect(again.stderr).not.toContain('generating the Key Vault secret');
  }, 600_000);

  it('two stamps: each app published in its own resource group, sign-in redirected to Front Door, smoke test through it', async () => {
    const { az, zip, site: api } = await deployed(defaultScenario());
    const run = await az.run(['--env', 'demo2', '--two-stamps', '--package', zip]);
    expect(run.status, run.stderr).toBe(0);
    const state = az.state();
    expect(state.deployments.demo2!.parameters.twoStamps).toBe('true');
    expect(state.published.map((p) => [p.app, p.group])).toEqual([
      ['func-api-tokdemo2', 'rg-demo2'],
      ['func-api-tokdemo2-swedencentral', 'rg-demo2-swedencentral'],
    ]);
    expect(state.apps[1]!.spa.redirectUris).toContain(`${api.url}/api/web/redirect.html`);
    const keys = az.calls().find((c) => verbs([c])[0] === 'functionapp keys list')!;
    expect([option(keys, '--resource-group'), option(keys, '--name')]).toEqual(['rg-demo2', 'func-api-tokdemo2']);
    expect(api.requests).toEqual([{ path: '/api/health/deep', key: state.functionKeys['func-api-tokdemo2'] }]);
  }, 600_000);

  it('stops at the preflight, naming model, version, region and date, when a model retires within 10 days', async () => {
    const retiring = Date.now() + 8 * DAY;
    const { az, zip } = await deployed(
      defaultScenario([
        offeredModel('gpt-5.4', '2026-03-05', { deprecation: retiring }),
        offeredModel('gpt-5.4-mini', '2026-03-17'),
      ]),
    );
    const run = await az.run(['--env', 'demo1', '--package', zip]);
    expect(run.status).toBe(1);
    const date = new Date(retiring).toISOString().slice(0, 10);
    expect(run.stderr).toContain(
      `preflight: gpt-5.4 2026-03-05 (GlobalStandard) in eastus2 retires on ${date}, within the 60-day window`,
    );
    expect(run.stderr).toContain('in swedencentral retires on');
    expect(run.stderr).toContain('nothing was deployed');
    const done = verbs(az.calls());
    expect(done.at(-1)).toBe('keyvault list-deleted');
    expect(done.some((v) => v.startsWith('deployment') || v.startsWith('ad '))).toBe(false);
  }, 600_000);

  it('refuses a deprecated model whatever its date, and lets the window be narrowed', async () => {
    const soon = Date.now() + 30 * DAY;
    const { az, zip } = await deployed(
      defaultScenario([
        offeredModel('gpt-5.4', '2026-03-05', { deprecation: soon }),
        offeredModel('gpt-5.4-mini', '2026-03-17', { lifecycleStatus: 'Deprecated' }),
      ]),
    );
    const run = await az.run(['--env', 'demo1', '--package', zip, '--skip-app'], {
      env: { CHAT_MODEL_RETIREMENT_WINDOW_DAYS: '10' },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/gpt-5\.4-mini 2026-03-17 \(GlobalStandard\) in eastus2 is Deprecated/);
    expect(run.stderr).not.toMatch(/gpt-5\.4 2026-03-05/);
  }, 600_000);
});
