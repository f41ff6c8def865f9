// Command line: npm run simulator -- --port 7081 --region eastus2 [--latency realistic] [--api-key K]
import { parseCliArgs, USAGE } from './cli-args';
import { startSimulator } from './server';
import { tokenizer } from './tokens';

async function main(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return;
  }
  if (parsed.kind === 'error') {
    console.error(`${parsed.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  // Build the tokenizer now so the first request is not half a second slower than the rest.
  tokenizer();
  const sim = await startSimulator(parsed.options);
  console.log(`Azure OpenAI simulator (${sim.region}) listening on ${sim.url}`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
