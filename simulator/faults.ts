import type { Interruption } from './stream';
import type { Fault, FaultKind } from './types';

const KINDS: readonly FaultKind[] = ['none', 'outage', 'throttle', 'latency', 'error500', 'reset-midstream', 'stall'];

/** Default `retry-after` of the `throttle` fault, in milliseconds. */
export const DEFAULT_THROTTLE_RETRY_AFTER_MS = 10_000;
/** Content chunks a `reset-midstream` or `stall` fault lets through by default. */
export const DEFAULT_BREAK_AFTER_CHUNKS = 2;
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
      return { ok: true, fault: { kind: kind as 'none' | 'error500' } };
    case 'reset-midstream':
    case 'stall': {
      const afterChunks = record['afterChunks'];
      if (afterChunks !== undefined && !(Number.isInteger(afterChunks) && (afterChunks as number) >= 0)) {
        return invalid('"afterChunks" must be a whole number of content chunks (0 or more)');
      }
      const chunks = afterChunks === undefined ? {} : { afterChunks: afterChunks as number };
      return { ok: true, fault: { kind: kind as 'reset-midstream' | 'stall', ...chunks } };
    }
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

/** How the active fault breaks an answer part way, if it does. */
export function interruptionOf(fault: Fault): Interruption | undefined {
  if (fault.kind !== 'reset-midstream' && fault.kind !== 'stall') return undefined;
  return {
    kind: fault.kind === 'stall' ? 'stall' : 'reset',
    afterChunks: fault.afterChunks ?? DEFAULT_BREAK_AFTER_CHUNKS,
  };
}
