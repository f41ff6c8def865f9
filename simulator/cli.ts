// Command line: npm run simulator -- --port 7081 --region eastus2 [--latency realistic] [--api-key K]
import { parseArgs } from 'node:util';
import { startSimulator } from './server';
import type { LatencyPreset } from './types';
import { LATENCY_PRESETS } from './types';

const USAGE =
  'Usage: simulator [--port 7081] [--host 127.0.0.1] [--region eastus2] [--latency none|realistic] [--api-key KEY]\n' +
  '                 [--bearer accept|no-role] [--local-auth-disabled] [--rpm N] [--tpm N]';

async function main(): Promise<void> {
  const { values } = parseArgs({
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
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!Object.hasOwn(LATENCY_PRESETS, values.latency))
    fail(`--latency must be one of ${Object.keys(LATENCY_PRESETS).join(', ')}`);
  if (values.bearer !== 'accept' && values.bearer !== 'no-role') fail('--bearer must be accept or no-role');
  const sim = await startSimulator({
    port: integer('--port', values.port),
    host: values.host,
    region: values.region,
    latency: values.latency as LatencyPreset,
    bearer: values.bearer,
    localAuthDisabled: values['local-auth-disabled'],
    ...(values['api-key'] === undefined ? {} : { apiKey: values['api-key'] }),
    ...(values.rpm === undefined ? {} : { rpm: integer('--rpm', values.rpm) }),
    ...(values.tpm === undefined ? {} : { tpm: integer('--tpm', values.tpm) }),
  });
  console.log(`Azure OpenAI simulator (${sim.region}) listening on ${sim.url}`);
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function integer(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) fail(`${flag} must be a non-negative integer, e.g. ${flag} 7081`);
  return value;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
