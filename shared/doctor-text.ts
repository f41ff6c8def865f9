/** The doctor's report as text, for `npm run doctor`: one line per check, a block per region. */
import type { DoctorCheck, DoctorReport } from './doctor';

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
