/**
 * Reads a JSON request body with a size limit. Every way a body can be wrong gets a 4xx that says
 * which: wrong content type (415), too large (413), empty or not JSON (400).
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

export async function readJsonBody(request: HttpRequest, maxBytes: number = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type.trim())) {
    throw new ChatError('unsupported_media_type', {
      message: `Send the body as JSON with "Content-Type: application/json"${type ? ` (got "${type.slice(0, 100)}")` : ''}.`,
    });
  }
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = (request.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
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
  return value;
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
