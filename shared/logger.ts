/** The small logging interface the shared module writes decisions to. Payloads (prompts, answers, keys) never. */
export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with its control characters written as escapes (`\n`, `\u001b`...): a message may quote what a caller
 * sent (a path, an id), and a newline in it would start a forged log line (CWE-117), an escape sequence would
 * rewrite the terminal. Applied to whole lines: JSON leaves U+2028, U+2029 and the C1 controls (NEL) as they are.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => SHORT_ESCAPES[c] ?? unicodeEscape(c));
}

/** Writes one line per call to the console, with the request id first so a grep finds a whole request. */
export function consoleLogger(requestId?: string): Logger {
  const line = (message: string, properties?: Record<string, unknown>) =>
    escapeControl(
      `${requestId ? `[${requestId}] ` : ''}${message}${properties ? ` ${JSON.stringify(properties)}` : ''}`,
    );
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
    escapeControl(`[${requestId}] ${message}${properties ? ` ${JSON.stringify(properties)}` : ''}`);
  return {
    info: (m, p) => sink.info(line(m, p)),
    warn: (m, p) => sink.warn(line(m, p)),
    error: (m, p) => sink.error(line(m, p)),
  };
}
