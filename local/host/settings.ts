import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CorsOptions } from './cors';

/** What `func start` takes from `local.settings.json`. */
export interface LocalSettings {
  /** `Values`, every value as a string (the Functions host exposes them as environment variables). */
  readonly values: Readonly<Record<string, string>>;
  /** `Host.LocalHttpPort`. */
  readonly port?: number;
  /** `Host.CORS` (comma-separated origins) and `Host.CORSCredentials`. */
  readonly cors?: CorsOptions;
  /** Absolute path of the file read, or undefined when there is none. */
  readonly file?: string;
}

/** Reads `<cwd>/local.settings.json`; a missing file gives empty settings. A malformed one throws, naming it. */
export function loadLocalSettings(cwd: string): LocalSettings {
  const file = path.resolve(cwd, 'local.settings.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { values: {} };
    throw err;
  }
  const parsed = parseJsonObject(text, file);
  if (parsed.IsEncrypted === true) {
    throw new Error(
      `${file} has "IsEncrypted": true; this host cannot decrypt it. Run "func settings decrypt" or set "IsEncrypted": false.`,
    );
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(asObject(parsed.Values))) {
    if (value !== null && value !== undefined) values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const host = asObject(parsed.Host);
  const port = Number(host.LocalHttpPort);
  const origins = typeof host.CORS === 'string' ? host.CORS.split(',').map((o) => o.trim()) : [];
  const allowedOrigins = origins.filter((o) => o.length > 0);
  return {
    values,
    file,
    ...(Number.isInteger(port) && port > 0 ? { port } : {}),
    ...(allowedOrigins.length > 0
      ? {
          cors: {
            allowedOrigins,
            supportCredentials: host.CORSCredentials === true || host.CORSCredentials === 'true',
          },
        }
      : {}),
  };
}

/**
 * Copies settings into the environment without overriding variables that are already set (as `func start`
 * does). Returns the names that were set.
 */
export function applySettingsToEnv(
  values: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): readonly string[] {
  const applied: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (env[key] === undefined) {
      env[key] = value;
      applied.push(key);
    }
  }
  return applied;
}

/** `extensions.http.routePrefix` from `<cwd>/host.json`; `api` when absent (an empty string means no prefix). */
export function readRoutePrefix(cwd: string): string {
  const file = path.resolve(cwd, 'host.json');
  if (!fs.existsSync(file)) return 'api';
  const hostJson = parseJsonObject(fs.readFileSync(file, 'utf8'), file);
  const prefix = asObject(asObject(hostJson.extensions).http).routePrefix;
  return typeof prefix === 'string' ? prefix : 'api';
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    // Strip a UTF-8 BOM, which editors on Windows like to add.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return asObject(parsed);
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
