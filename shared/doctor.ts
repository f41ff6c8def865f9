/**
 * The doctor: checks each configured region for real, the way a chat would use it, and explains
 * every failure with the same diagnosis the backend gives (one factory: {@link fromUpstream}, and
 * the Key Vault explanations inside the credentials). Shared by `GET /api/health/deep` and
 * `npm run doctor`.
 *
 * Per region, in order: the endpoint resolves and accepts a TCP connection; the credential works
 * (a token obtained, the Key Vault secret read, or the key present); then a one-token completion
 * per configured deployment. A region whose endpoint cannot be reached skips the rest: every later
 * check would fail the same way.
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import OpenAI, { APIError } from 'openai';
import type { AppConfig, RegionConfig } from './config';
import type { CredentialSet, RegionAuth } from './credentials';
import { ChatError, fromUpstream } from './errors';

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
}

export const DEFAULT_DOCTOR_TIMEOUT_MS = 15_000;

/** Runs every check; regions in parallel, each region's checks in order. Never throws for a failed check. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const perRegion = await Promise.all(options.config.regions.map((region) => checkRegion(region, options, now)));
  const checks = perRegion.flat();
  return { ok: checks.every((c) => c.ok), checks, durationMs: now() - started };
}

async function checkRegion(region: RegionConfig, options: DoctorOptions, now: () => number): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const auth = options.credentials.forRegion(region);
  const checks: DoctorCheck[] = [];
  const run = async (check: string, body: () => Promise<string | undefined>): Promise<boolean> => {
    const started = now();
    let result: DoctorCheck;
    try {
      const detail = await body();
      result = { region: region.name, check, ok: true, durationMs: now() - started, ...(detail ? { detail } : {}) };
    } catch (error) {
      const explained = explain(error, region, options.config, auth, check);
      result = {
        region: region.name,
        check,
        ok: false,
        durationMs: now() - started,
        code: explained.code,
        ...(explained.diagnosis ? { diagnosis: explained.diagnosis } : {}),
      };
    }
    checks.push(result);
    options.onCheck?.(result);
    return result.ok;
  };

  if (!(await run('endpoint', () => checkConnection(region.endpoint, timeoutMs)))) return checks;
  // Without a credential every completion fails the same way: skip them.
  if (!(await run('credential', () => withTimeout(checkCredential(auth, options.config), timeoutMs)))) return checks;

  const client = new OpenAI({
    baseURL: new URL('openai/v1/', region.endpoint).toString(),
    apiKey: auth.apiKey,
    // One answer per check: a retry would hide a flaky region.
    maxRetries: 0,
    timeout: timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  for (const [model, deployment] of Object.entries(region.deployments)) {
    await run(`completion ${model}`, () => checkCompletion(client, auth, deployment));
  }
  return checks;
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

async function checkCompletion(client: OpenAI, auth: RegionAuth, deployment: string): Promise<string> {
  const create = async () =>
    client.chat.completions.create(
      // max_completion_tokens rather than max_tokens: reasoning deployments reject the latter.
      { model: deployment, messages: [{ role: 'user', content: 'ping' }], max_completion_tokens: 1 },
      { headers: { ...(await auth.headers()), 'x-ms-client-request-id': `doctor-${deployment}` } },
    );
  try {
    await create();
  } catch (error) {
    // As the chat service does: a key rotated in Key Vault is re-read once.
    if (!(error instanceof APIError && error.status === 401 && (await auth.refreshAfterUnauthorized()))) throw error;
    await create();
  }
  return `deployment "${deployment}" answered`;
}

function explain(
  error: unknown,
  region: RegionConfig,
  config: AppConfig,
  auth: RegionAuth,
  check: string,
): { code: string; diagnosis?: string } {
  const model = check.startsWith('completion ') ? check.slice('completion '.length) : config.defaultModel;
  if (check === 'credential' && !(error instanceof ChatError) && !isAzureIdentityError(error)) {
    // A credential that fails in its own way (not @azure/identity's classes): say so plainly.
    return {
      code: 'credential_unavailable',
      diagnosis: `No credential for region ${region.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    };
  }
  const explained = fromUpstream(error, {
    region: region.name,
    endpoint: region.endpoint,
    model,
    deployment: region.deployments[model] ?? model,
    deployments: region.deployments,
    auth: config.auth.mode,
    ...auth.describe(),
  });
  return { code: explained.code, ...(explained.diagnosis ? { diagnosis: explained.diagnosis } : {}) };
}

function isAzureIdentityError(error: unknown): boolean {
  return (
    error instanceof Error &&
    ['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError'].includes(error.name)
  );
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

/** The report as text: one block per region, a diagnosis under each failed check, a summary line. */
export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const regions = [...new Set(report.checks.map((c) => c.region))];
  for (const region of regions) {
    const checks = report.checks.filter((c) => c.region === region);
    const failed = checks.filter((c) => !c.ok).length;
    lines.push(`${region}: ${failed === 0 ? 'ok' : `${failed} failed`}`);
    for (const c of checks) {
      lines.push(`  ${formatCheck(c)}`);
      if (c.diagnosis) lines.push(`      ${c.diagnosis}`);
    }
    const skipped = checks.find((c) => !c.ok && (c.check === 'endpoint' || c.check === 'credential'));
    if (skipped) lines.push(`  (later checks skipped: the ${skipped.check} check failed)`);
    lines.push('');
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push(
    failed === 0
      ? `All ${report.checks.length} checks passed in ${report.durationMs} ms.`
      : `${failed} of ${report.checks.length} checks failed.`,
  );
  return lines.join('\n');
}

/** One check on one line: `ok   completion gpt-4o  12 ms  deployment "gpt-4o" answered`. */
export function formatCheck(c: DoctorCheck): string {
  const status = c.ok ? 'ok  ' : 'FAIL';
  const tail = c.ok ? (c.detail ?? '') : (c.code ?? '');
  return `${status} ${c.check.padEnd(22)} ${`${c.durationMs} ms`.padStart(8)}  ${tail}`.trimEnd();
}

/** `GET /api/health/deep` body: the checks, and on failure the usual error object beside them. */
export interface DeepHealthBody {
  readonly status: 'ok' | 'failing';
  readonly durationMs: number;
  readonly checks: readonly DoctorCheck[];
  readonly error?: { readonly code: 'health_check_failed'; readonly message: string; readonly requestId: string };
}

/**
 * The deep health answer. Without `exposeDiagnostics` (in Azure) diagnoses and details are left out:
 * they name deployments and identities, which front-ends holding a function key must not see.
 */
export function deepHealthBody(
  report: DoctorReport,
  options: { readonly requestId: string; readonly exposeDiagnostics: boolean },
): DeepHealthBody {
  const checks = options.exposeDiagnostics
    ? report.checks
    : report.checks.map(({ region, check, ok, durationMs, code }) => ({
        region,
        check,
        ok,
        durationMs,
        ...(code ? { code } : {}),
      }));
  const failed = report.checks.filter((c) => !c.ok);
  return {
    status: report.ok ? 'ok' : 'failing',
    durationMs: report.durationMs,
    checks,
    ...(report.ok
      ? {}
      : {
          error: {
            code: 'health_check_failed',
            message: `${failed.length} of ${report.checks.length} checks failed: ${failed
              .map((c) => `${c.region} ${c.check} (${c.code ?? 'failed'})`)
              .join(', ')}.`,
            requestId: options.requestId,
          },
        }),
  };
}
