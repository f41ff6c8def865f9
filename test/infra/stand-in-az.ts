/**
 * Runs the deploy scripts against the `az` stand-in (test/stand-ins/az-cli.mjs) first on PATH, and a
 * local HTTP server standing in for the deployed API (the stand-in's outputs point API_BASE_URL at
 * it), so `npm run deploy` goes from the preflight to the smoke test with the real Bicep CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { repoRoot } from './arm.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** One model of `az cognitiveservices model list`, as the CLI prints it. */
export function offeredModel(
  name: string,
  version: string,
  options: { deprecation?: number; retirement?: number; lifecycleStatus?: string } = {},
) {
  const deprecation = options.deprecation ?? Date.now() + 120 * DAY;
  const retirement = options.retirement ?? deprecation + 180 * DAY;
  return {
    kind: 'OpenAI',
    skuName: 'S0',
    model: {
      format: 'OpenAI',
      name,
      version,
      lifecycleStatus: options.lifecycleStatus ?? 'GenerallyAvailable',
      isDefaultVersion: true,
      maxCapacity: 1000,
      capabilities: { chatCompletion: 'true', responses: 'true', maxContextToken: '400000' },
      deprecation: { inference: iso(retirement) },
      skus: [
        {
          name: 'GlobalStandard',
          usageName: `OpenAI.GlobalStandard.${name}`,
          capacity: { default: 10, maximum: 1000 },
          deprecationDate: iso(deprecation),
          rateLimits: [{ key: 'request', renewalPeriod: 10, count: 10 }],
        },
      ],
      systemData: { createdAt: '2026-03-05T00:00:00Z', lastModifiedAt: '2026-03-05T00:00:00Z' },
    },
  };
}

/** One quota of `az cognitiveservices usage list`. */
export const usage = (name: string, currentValue: number, limit: number) => ({
  name: {
    value: `OpenAI.GlobalStandard.${name}`,
    localizedValue: `Tokens Per Minute (thousands) - ${name} - GlobalStandard`,
  },
  currentValue,
  limit,
  unit: 'Count',
});

/** Both default regions offering the parameter file's models, with quota left. */
export function defaultScenario(
  models = [offeredModel('gpt-5.4', '2026-03-05'), offeredModel('gpt-5.4-mini', '2026-03-17')],
) {
  const regionState = { models, usage: [usage('gpt-5.4', 0, 1000), usage('gpt-5.4-mini', 0, 1000)] };
  return { regions: { eastus2: regionState, swedencentral: regionState } };
}

export interface Site {
  readonly url: string;
  /** Requests the stand-in API received: path and the function key header. */
  readonly requests: { path: string; key: string | undefined }[];
  close(): Promise<void>;
}

/** The deployed API as the smoke test sees it: /api/health/deep answers 200 to the primary stamp's host key. */
export async function startSite(standIn: () => StandInAz): Promise<Site> {
  const requests: Site['requests'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const key = req.headers['x-functions-key'] as string | undefined;
    requests.push({ path: req.url ?? '', key });
    const state = standIn().state();
    const primary = Object.values(state.deployments).at(-1)?.outputs.FUNCTION_APP_NAME?.value as string;
    const expected = state.functionKeys[primary];
    if (req.url !== '/api/health/deep') {
      res.writeHead(404).end();
    } else if (!key || key !== expected) {
      res.writeHead(401).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, checks: [] }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** PATH without any folder holding an `az`, as on a machine without the Azure CLI (node and npm stay). */
export const pathWithoutAz = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '' && !existsSync(join(dir, 'az')))
  .join(delimiter);

/** What the stand-in keeps between calls (test/stand-ins/az-cli.mjs). */
export interface StandInState {
  readonly apps: {
    id: string;
    appId: string;
    displayName: string;
    identifierUris: string[];
    api: { requestedAccessTokenVersion?: number | null; oauth2PermissionScopes?: unknown[] };
    spa: { redirectUris: string[] };
  }[];
  readonly servicePrincipals: { appId: string }[];
  readonly deployments: Record<
    string,
    { parameters: Record<string, string>; outputs: Record<string, { type: string; value: unknown }> }
  >;
  readonly functionKeys: Record<string, string>;
  readonly published: { app: string; group?: string; failed?: boolean; scmRules?: unknown[] }[];
  readonly accessRules: Record<string, unknown[]>;
  readonly resources: string[];
}

const EMPTY_STATE: StandInState = {
  apps: [],
  servicePrincipals: [],
  deployments: {},
  functionKeys: {},
  published: [],
  accessRules: {},
  resources: [],
};

export interface StandInAz {
  readonly dir: string;
  /** Every az call so far, as its argument list. */
  calls(): string[][];
  /** What the az calls changed (app registrations, deployments, secrets, ...). */
  state(): StandInState;
  /**
   * Runs `npm run deploy -- ARGS` (or another npm script) with the stand-in first on PATH. Not
   * spawnSync: the stand-in API server answers the smoke test from this process's event loop.
   */
  run(
    args: readonly string[],
    options?: { script?: string; env?: NodeJS.ProcessEnv },
  ): Promise<{ status: number | null; stdout: string; stderr: string }>;
}

export function standInAz(scenario: Record<string, unknown>): StandInAz {
  const dir = mkdtempSync(join(tmpdir(), 'az-standin-'));
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify(scenario));
  writeFileSync(join(dir, 'calls.jsonl'), '');
  return {
    dir,
    calls: () =>
      readFileSync(join(dir, 'calls.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
    state: () =>
      existsSync(join(dir, 'state.json'))
        ? { ...EMPTY_STATE, ...(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Partial<StandInState>) }
        : EMPTY_STATE,
    run(args, options = {}) {
      const child = spawn('npm', ['run', '--silent', options.script ?? 'deploy', '--', ...args], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: `${join(repoRoot, 'test/stand-ins/az-bin')}${delimiter}${pathWithoutAz}`,
          HOME: dir,
          AZ_STANDIN_DIR: dir,
          BICEP_USE_PINNED: '1',
          ...(process.env.BICEP_HOME ? { BICEP_HOME: process.env.BICEP_HOME } : {}),
          DEPLOY_CLIENT_IP: '203.0.113.7',
          DEPLOY_PUBLISH_DELAY: '0',
          DEPLOY_SMOKE_RETRIES: '0',
          ...options.env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    },
  };
}
