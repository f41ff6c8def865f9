/**
 * `npm run doctor`: the deep health checks from the command line, against the local settings
 * (local.settings.json `Values`, with environment variables winning, as `func start` does). Prints
 * one line per check as it completes, then a report with a diagnosis under each failure.
 * Exit code 0 when every check passes, 1 when one fails, 2 when the settings are unusable.
 */
import { applySettingsToEnv, loadLocalSettings } from '../local/host/settings';
import { ConfigError, loadConfig } from '../shared/config';
import { createCredentials } from '../shared/credentials';
import { runDoctor } from '../shared/doctor';
import { formatCheck, formatReport } from '../shared/doctor-text';

export async function main(cwd: string, env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  let config;
  try {
    const settings = loadLocalSettings(cwd);
    applySettingsToEnv(settings.values, env);
    config = loadConfig(env);
  } catch (error) {
    out(`Cannot run the checks: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof ConfigError && error.setting === 'CHAT_REGIONS')
      out('Copy local.settings.json.example to local.settings.json (or set CHAT_REGIONS) and try again.');
    return 2;
  }
  const deployments = config.regions.reduce((n, r) => n + Object.keys(r.deployments).length, 0);
  out(`Checking ${config.regions.length} region(s), ${deployments} deployment(s), auth mode ${config.auth.mode}...`);
  const report = await runDoctor({
    config,
    credentials: createCredentials(config),
    onCheck: (check) => out(`  ${check.region.padEnd(16)} ${formatCheck(check)}`),
  });
  out('');
  out(formatReport(report));
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.cwd(), process.env, (line) => console.log(line)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
