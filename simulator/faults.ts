import type { Fault, FaultKind } from './types';

const KINDS: readonly FaultKind[] = ['none', 'outage', 'throttle', 'latency', 'error500', 'reset-midstream'];

/** Default `retry-after` of the `throttle` fault, in milliseconds. */
export const DEFAULT_THROTTLE_RETRY_AFTER_MS = 10_000;
/** Default delay of the `latency` fault, in milliseconds. */
export const DEFAULT_FAULT_LATENCY_MS = 1_000;

/** Result of {@link parseFault}: the fault, or a message saying what is wrong with the input. */
export type ParsedFault =
  { readonly ok: true; readonly fault: Fault } | { readonly ok: false; readonly message: string };

/** Validates the JSON body of `POST /_sim/fault`. */
export function parseFault(input: unknown): ParsedFault {
  if (typeof input !== 'object' || input === null) return invalid('the body must be a JSON object');
  const record = input as Record<string, unknown>;
  const kind = record['kind'];
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    return invalid(`"kind" must be one of ${KINDS.join(', ')}`);
  }
  const retryAfterMs = optionalMs(record, 'retryAfterMs');
  const latencyMs = optionalMs(record, 'latencyMs');
  if (retryAfterMs === null) return invalid('"retryAfterMs" must be a non-negative number of milliseconds');
  if (latencyMs === null) return invalid('"latencyMs" must be a non-negative number of milliseconds');
  switch (kind as FaultKind) {
    case 'none':
    case 'error500':
    case 'reset-midstream':
      return { ok: true, fault: { kind: kind as 'none' | 'error500' | 'reset-midstream' } };
    case 'outage': {
      const mode = record['mode'] ?? 'http';
      if (mode !== 'http' && mode !== 'refuse') return invalid('"mode" must be "http" or "refuse"');
      return { ok: true, fault: { kind: 'outage', mode, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } };
    }
    case 'throttle':
      return { ok: true, fault: { kind: 'throttle', retryAfterMs: retryAfterMs ?? DEFAULT_THROTTLE_RETRY_AFTER_MS } };
    case 'latency':
      return { ok: true, fault: { kind: 'latency', latencyMs: latencyMs ?? DEFAULT_FAULT_LATENCY_MS } };
  }
}

function invalid(message: string): ParsedFault {
  return { ok: false, message: `Invalid fault: ${message}. Example: {"kind":"throttle","retryAfterMs":5000}` };
}

/** undefined when absent, null when present but not a usable number. */
function optionalMs(record: Record<string, unknown>, key: string): number | undefined | null {
  const value = record[key];
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}
