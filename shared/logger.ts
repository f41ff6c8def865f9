/** The small logging interface the shared module writes decisions to. Payloads (prompts, answers, keys) never. */
export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Writes one line per call to the console, with the request id first so a grep finds a whole request. */
export function consoleLogger(requestId?: string): Logger {
  const line = (message: string, properties?: Record<string, unknown>) =>
    `${requestId ? `[${requestId}] ` : ''}${message}${properties ? ` ${JSON.stringify(properties)}` : ''}`;
  return {
    info: (m, p) => console.info(line(m, p)),
    warn: (m, p) => console.warn(line(m, p)),
    error: (m, p) => console.error(line(m, p)),
  };
}

/** Anything with info/warn/error (an InvocationContext, console), bound to a request id. */
export function requestLogger(
  sink: { info(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void },
  requestId: string,
): Logger {
  const line = (message: string, properties?: Record<string, unknown>) =>
    `[${requestId}] ${message}${properties ? ` ${JSON.stringify(properties)}` : ''}`;
  return {
    info: (m, p) => sink.info(line(m, p)),
    warn: (m, p) => sink.warn(line(m, p)),
    error: (m, p) => sink.error(line(m, p)),
  };
}
