/**
 * The doctor: checks each configured region for real, the way a chat would use it, and explains
 * every failure with the same diagnosis the backend gives: regions are called through the same
 * {@link Upstream} as a chat (client, credential headers, key-rotation retry, classification). Shared by `GET /api/health/deep` and
 * `npm run doctor`.
 *
 * Per region, in order: the endpoint resolves and accepts a TCP connection; the credential works
 * (a token obtained, the Key Vault secret read, or the key present); then a one-token completion
 * per configured deployment. A region whose endpoint cannot be reached skips the rest: every later
 * check would fail the same way.
 *
 * The report as text is ./doctor-text.ts (the CLI); as the HTTP body, ./http/deep-health.ts.
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import type { AppConfig, RegionConfig } from './config';
import type { CredentialSet, RegionAuth } from './credentials';
import { ChatError, isAzureIdentityError } from './errors';
import type { RegionCheck } from './stamp-health';
import { Upstream } from './upstream';

/** What one check came to. Never carries a key or a token. */
export interface DoctorCheck {
  readonly region: string;
  /** `endpoint`, `credential` or `completion <model>`. */
  readonly check: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** The ChatError code when the check failed (e.g. `key_rejected`, `deployment_not_found`). */
  readonly code?: string;
  /** What is wrong and how to fix it (failed checks), for the operator. */
  readonly diagnosis?: string;
  /** What was checked, for a passing check (e.g. which identity or secret was used). */
  readonly detail?: string;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
  readonly durationMs: number;
}

export interface DoctorOptions {
  readonly config: AppConfig;
  readonly credentials: CredentialSet;
  /** Time limit of one check, ms. Default 15 000. */
  readonly timeoutMs?: number;
  /** Called as each check completes (progress for the CLI). */
  readonly onCheck?: (check: DoctorCheck) => void;
  /** fetch for the openai clients (tests may wrap it). */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Names of the regions to check; default every configured region. */
  readonly regions?: readonly string[];
  /**
   * Which deployments get a one-token completion: `every-deployment` (default: the operator's full check) or
   * `default-model` (one per region: CHAT_DEFAULT_MODEL where the region deploys it, else its first deployment;
   * the cheap real check of `GET /api/health`).
   */
  readonly completions?: 'every-deployment' | 'default-model';
}

export const DEFAULT_DOCTOR_TIMEOUT_MS = 15_000;

/** Runs every check; regions in parallel, each region's checks in order. Never throws for a failed check. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const regions = options.regions
    ? options.config.regions.filter((r) => options.regions?.includes(r.name))
    : options.config.regions;
  const perRegion = await Promise.all(regions.map((region) => checkRegion(region, options, now)));
  const checks = perRegion.flat();
  return { ok: checks.every((c) => c.ok), checks, durationMs: now() - started };
}

/**
 * The cheap real check `GET /api/health` makes of one region (./stamp-health.ts): the same steps as the deep health,
 * with one completion (the default model's deployment). Resolves with the code of the first step that failed.
 */
export function doctorRegionCheck(options: Omit<DoctorOptions, 'regions' | 'completions'>): RegionCheck {
  return async (region) => {
    const report = await runDoctor({ ...options, regions: [region], completions: 'default-model' });
    const failed = report.checks.find((c) => !c.ok);
    if (failed) return { ok: false, code: failed.code ?? 'health_check_failed' };
    // A region the configuration does not list ran no check: that is no evidence of health.
    return report.checks.length > 0 ? { ok: true } : { ok: false, code: 'not_found' };
  };
}

async function checkRegion(region: RegionConfig, options: DoctorOptions, now: () => number): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const auth = options.credentials.forRegion(region);
  const upstream = new Upstream({
    region,
    auth,
    authMode: options.config.auth.mode,
    // One answer per check: the client never retries, and this bounds each call.
    timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const checks = new RegionChecks({
    upstream,
    defaultModel: options.config.defaultModel,
    now,
    onCheck: options.onCheck,
  });
  if (!(await checks.run('endpoint', () => checkConnection(region.endpoint, timeoutMs)))) return checks.done;
  // Without a credential every completion fails the same way: skip them.
  const credential = () => withTimeout(checkCredential(auth, options.config), timeoutMs);
  if (!(await checks.run('credential', credential))) return checks.done;
  for (const model of modelsToComplete(region, options)) {
    await checks.run(`completion ${model}`, () => checkCompletion(upstream, model));
  }
  return checks.done;
}

/** The models a region's completion checks use, per {@link DoctorOptions.completions}. */
function modelsToComplete(region: RegionConfig, options: DoctorOptions): string[] {
  const models = Object.keys(region.deployments);
  if (options.completions !== 'default-model') return models;
  const one = models.includes(options.config.defaultModel) ? options.config.defaultModel : models[0];
  return one === undefined ? [] : [one];
}

interface RegionChecksOptions {
  readonly upstream: Upstream;
  /** The model a failure outside a completion check is explained for. */
  readonly defaultModel: string;
  readonly now: () => number;
  readonly onCheck: ((check: DoctorCheck) => void) | undefined;
}

/** One region's checks as they run: each timed, a failure explained as the backend would explain it. */
class RegionChecks {
  readonly done: DoctorCheck[] = [];
  readonly #options: RegionChecksOptions;

  constructor(options: RegionChecksOptions) {
    this.#options = options;
  }

  /** Runs one check; resolves whether it passed (never rejects). */
  async run(check: string, body: () => Promise<string | undefined>): Promise<boolean> {
    const { upstream, now } = this.#options;
    const started = now();
    const where = { region: upstream.name, check };
    let result: DoctorCheck;
    try {
      const detail = await body();
      result = { ...where, ok: true, durationMs: now() - started, ...(detail ? { detail } : {}) };
    } catch (error) {
      const { code, diagnosis } = this.#explain(error, check);
      result = { ...where, ok: false, durationMs: now() - started, code, ...(diagnosis ? { diagnosis } : {}) };
    }
    this.done.push(result);
    this.#options.onCheck?.(result);
    return result.ok;
  }

  #explain(error: unknown, check: string): ChatError | { code: string; diagnosis: string } {
    if (check === 'credential' && !(error instanceof ChatError) && !isAzureIdentityError(error)) {
      // A credential that fails in its own way (not @azure/identity's classes): say so plainly.
      return {
        code: 'credential_unavailable',
        diagnosis: `No credential for region ${this.#options.upstream.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      };
    }
    const model = check.startsWith('completion ') ? check.slice('completion '.length) : this.#options.defaultModel;
    return this.#options.upstream.classify(error, model);
  }
}

/** DNS, then a TCP connection to the endpoint's host and port. */
async function checkConnection(endpoint: string, timeoutMs: number): Promise<string> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const { address } = await lookup(host);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: address, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ETIMEDOUT ${address}:${port}`), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
  return `${url.host} resolves to ${address} and accepts connections`;
}

async function checkCredential(auth: RegionAuth, config: AppConfig): Promise<string> {
  switch (config.auth.mode) {
    case 'managed-identity': {
      if (typeof auth.apiKey === 'function') await auth.apiKey();
      const who = auth.describe().identity;
      return `token for https://cognitiveservices.azure.com obtained${who ? ` (${who})` : ''}`;
    }
    case 'key-vault': {
      await auth.headers();
      return `API key read from Key Vault secret "${auth.describe().keySecretName ?? ''}"`;
    }
    case 'api-key': {
      const headers = await auth.headers();
      if (!headers['api-key']) throw new ChatError('credential_unavailable', { message: 'No API key.' });
      return 'API key present (AZURE_OPENAI_API_KEY)';
    }
  }
}

/** A one-token completion, as a chat would make it (a rotated key is re-read once, as in a chat). */
async function checkCompletion(upstream: Upstream, model: string): Promise<string> {
  const deployment = upstream.deployment(model) ?? model;
  await upstream.complete(
    // max_completion_tokens rather than max_tokens: reasoning deployments reject the latter.
    { messages: [{ role: 'user', content: 'ping' }], max_completion_tokens: 1 },
    { model, requestId: `doctor-${deployment}` },
  );
  return `deployment "${deployment}" answered`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ChatError('credential_unavailable', {
            message: 'Timed out.',
            diagnosis: `No credential within ${ms} ms.`,
          }),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
