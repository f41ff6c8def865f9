/**
 * Reading app settings (process.env in Azure, local.settings.json `Values` locally): the small
 * parsers config.ts and telemetry share, so a setting means the same thing wherever it is read.
 */
import { ConfigError } from './config-error';

/** App settings as the host hands them over. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The trimmed value, or undefined when the setting is missing or blank (a blank setting means "not set"). */
export function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** `true` or `false` (exactly); `fallback` when not set. Throws {@link ConfigError} for anything else. */
export function booleanSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') {
    throw new ConfigError(name, `must be true or false, got "${raw}"`, String(fallback));
  }
  return raw === 'true';
}

/** A whole number from `min` to `max`; `fallback` when not set. Throws {@link ConfigError} otherwise. */
export function intSetting(env: Env, name: string, range: { fallback: number; min: number; max: number }): number {
  const raw = setting(env, name);
  if (raw === undefined) return range.fallback;
  const value = Number(raw);
  // Digits only: Number() would also take "1e3", "0x10" or "1_000" for a whole number.
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(
      name,
      `must be a whole number from ${range.min} to ${range.max}, got "${raw}"`,
      String(range.fallback),
    );
  }
  return value;
}

/** A directory (tenant) or client id: a GUID, as Entra ID writes them. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a URL's host is this machine: the only place plain http is accepted (local emulators and providers). */
export function isLoopbackHost(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
