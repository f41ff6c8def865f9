/**
 * Reads a JSON request body with a size limit. Every way a body can be wrong gets a 4xx that says
 * which: wrong content type or a charset other than UTF-8 (415), too large (413), empty, not JSON or
 * not Unicode (400); a client that leaves mid-body is `client_closed` (499, a warning, not a 500).
 */
import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import { ChatError } from '../errors';

/** Default body limit, bytes (256 KB). */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/**
 * Deepest nesting of arrays and objects a body may have. JSON.parse copes with any depth, but
 * JSON.stringify (of `sessionState` echoed back, of `tools` sent upstream) overflows the stack
 * somewhere past a few thousand levels: a 500 from a 20 KB body. Real requests nest a handful.
 */
export const MAX_JSON_DEPTH = 64;

/** An unpaired UTF-16 surrogate: not Unicode, and upstream tokenizers choke on it. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export async function readJsonBody(request: HttpRequest, maxBytes: number = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  checkContentType(request.headers.get('content-type') ?? '');
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = (await readBytes(request, maxBytes)).toString('utf8');
  if (text.trim() === '')
    throw new ChatError('invalid_json', { message: 'The request body is empty: send a JSON object.' });
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ChatError('invalid_json', {
      message: `The request body is not valid JSON: ${error instanceof Error ? error.message.slice(0, 200) : 'parse error'}.`,
    });
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    const message = `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    throw new ChatError('invalid_request', {
      message: `The request is invalid: the body ${message}.`,
      fields: [{ path: '(body)', message }],
    });
  }
  const lone = loneSurrogatePath(value);
  if (lone !== undefined) {
    // Any string, not only message text: `stop`, `user`, tool arguments and sessionState go upstream or back out.
    const message = 'must be valid Unicode text (it has a lone surrogate)';
    throw new ChatError('invalid_request', {
      message: `The request is invalid: ${clip(lone, 200)}: ${message}`,
      fields: [{ path: clip(lone, 200), message }],
    });
  }
  return value;
}

/**
 * JSON only, and only as UTF-8 (RFC 8259 8.1): a body declared in another charset would be decoded wrongly, so it
 * is refused rather than guessed at.
 */
function checkContentType(type: string): void {
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type.trim())) {
    throw new ChatError('unsupported_media_type', {
      message: `Send the body as JSON with "Content-Type: application/json"${type ? ` (got "${type.slice(0, 100)}")` : ''}.`,
    });
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(type)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new ChatError('unsupported_media_type', {
      message: `Send the body as UTF-8 JSON: charset "${charset.slice(0, 40)}" is not supported.`,
    });
  }
}

/** The body, up to `maxBytes` (413 beyond); a client that left mid-body is `client_closed`, not a 500. */
async function readBytes(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!request.body) return Buffer.alloc(0);
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read().catch((error: unknown) => {
      throw new ChatError('client_closed', {
        message: 'The client closed the connection before sending the whole body.',
        cause: error,
      });
    });
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
}

/** The path (`messages.0.content`, as validation names fields) of the first string or key with a lone surrogate. */
export function loneSurrogatePath(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return path || '(body)';
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const childPath = path ? `${path}.${key}` : key;
        if (LONE_SURROGATE.test(key)) return `${path || '(body)'} (a key)`;
        pending.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** Deepest nesting of `[` and `{` in JSON text, ignoring brackets inside strings. Linear, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function tooLarge(maxBytes: number): ChatError {
  return new ChatError('payload_too_large', {
    message: `The request body is larger than ${Math.round(maxBytes / 1024)} KB.`,
  });
}

/** OpenAI SDKs send `null` for "not set"; the upstream call should not. */
export function dropNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

/** Validates with a zod schema; a failure is a 400 with one message per field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // Bounded: an issue can quote a client's key (unrecognized keys), which may be huge.
  const fields = parsed.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.length > 0 ? clip(issue.path.map(String).join('.'), 200) : '(body)',
    message: clip(issue.message, 300),
  }));
  throw new ChatError('invalid_request', {
    message: `The request is invalid: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`.slice(0, 1000),
    fields,
  });
}
