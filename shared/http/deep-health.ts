/** The body of `GET /api/health/deep`: the doctor's checks, and the usual error object when one failed. */
import type { DoctorCheck, DoctorReport } from '../doctor';

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
