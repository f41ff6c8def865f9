import { parseArgs } from 'node:util';
import type { LatencyPreset, SimulatorOptions } from './types';
import { LATENCY_PRESETS } from './types';

/** Usage text of the simulator command line. */
export const USAGE =
  'Usage: simulator [--port 7081] [--host 127.0.0.1] [--region eastus2] [--latency none|realistic] [--api-key KEY]\n' +
  '                 [--bearer accept|no-role] [--local-auth-disabled] [--rpm N] [--tpm N]\n' +
  '                 [--continuation-repeat-words N] [--answer-tokens N]';

/** Result of {@link parseCliArgs}: options to start with, `help`, or an error message. */
export type CliArgs =
  | { readonly kind: 'start'; readonly options: SimulatorOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

/** Parses the command line (without `node` and the script). Defaults: port 7081, region eastus2, no latency. */
export function parseCliArgs(args: readonly string[]): CliArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        port: { type: 'string', default: '7081' },
        host: { type: 'string', default: '127.0.0.1' },
        region: { type: 'string', default: 'eastus2' },
        latency: { type: 'string', default: 'none' },
        'api-key': { type: 'string' },
        bearer: { type: 'string', default: 'accept' },
        'local-auth-disabled': { type: 'boolean', default: false },
        rpm: { type: 'string' },
        tpm: { type: 'string' },
        'continuation-repeat-words': { type: 'string' },
        'answer-tokens': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: 'help' };
  if (!Object.hasOwn(LATENCY_PRESETS, values.latency)) {
    return { kind: 'error', message: `--latency must be one of ${Object.keys(LATENCY_PRESETS).join(', ')}` };
  }
  if (values.bearer !== 'accept' && values.bearer !== 'no-role') {
    return { kind: 'error', message: '--bearer must be accept or no-role' };
  }
  const numbers: Record<string, number> = {};
  for (const flag of ['port', 'rpm', 'tpm', 'continuation-repeat-words', 'answer-tokens'] as const) {
    const text = values[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      return { kind: 'error', message: `--${flag} must be a non-negative integer, e.g. --${flag} 7081` };
    }
    numbers[flag] = value;
  }
  const { 'continuation-repeat-words': continuationRepeatWords, 'answer-tokens': answerTokens, ...limits } = numbers;
  return {
    kind: 'start',
    options: {
      ...limits,
      ...(continuationRepeatWords === undefined ? {} : { continuationRepeatWords }),
      ...(answerTokens === undefined ? {} : { answerTokens }),
      host: values.host,
      region: values.region,
      latency: values.latency as LatencyPreset,
      bearer: values.bearer,
      localAuthDisabled: values['local-auth-disabled'],
      ...(values['api-key'] === undefined ? {} : { apiKey: values['api-key'] }),
    },
  };
}
