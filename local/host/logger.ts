/**
 * The host's small logger: one line per call, already formatted. Tests pass {@link silentLogger}.
 * `debug` is optional; when absent, debug-level output (system chatter from the library) is dropped.
 */
export interface LocalHostLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

/** Console logger with a `[ISO time]` prefix, like `func start`. */
export const consoleLogger: LocalHostLogger = {
  info: (message) => console.log(`[${new Date().toISOString()}] ${message}`),
  warn: (message) => console.warn(`[${new Date().toISOString()}] ${message}`),
  error: (message) => console.error(`[${new Date().toISOString()}] ${message}`),
};

export const silentLogger: LocalHostLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** An error for a log line: the stack when there is one (this is a developer's console), else the text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
