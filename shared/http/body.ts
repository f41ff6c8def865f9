/**
 * Reads a JSON request body with a size limit. Every way a body can be wrong gets a 4xx that says
 * which: wrong content type (415), too large (413), empty or not JSON (400).
 */
import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import { ChatError } from '../errors';

/** Default body limit, bytes (256 KB). */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

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
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ChatError('invalid_json', {
      message: `The request body is not valid JSON: ${error instanceof Error ? error.message.slice(0, 200) : 'parse error'}.`,
    });
  }
}

function tooLarge(maxBytes: number): ChatError {
  return new ChatError('payload_too_large', {
    message: `The request body is larger than ${Math.round(maxBytes / 1024)} KB.`,
  });
}

/** Validates with a zod schema; a failure is a 400 with one message per field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)',
    message: issue.message,
  }));
  throw new ChatError('invalid_request', {
    message: `The request is invalid: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`.slice(0, 1000),
    fields,
  });
}
