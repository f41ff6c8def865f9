/**
 * Random and hostile requests for the fuzz test: bodies from random JSON to deliberately nasty text
 * and bytes (deep nesting, huge strings, prototype-pollution keys, invalid UTF-8, lone surrogates,
 * numbers JSON cannot hold), valid bodies with one field mutated, and hostile headers.
 */
import fc from 'fast-check';
import { LIMITS } from '../../shared/http/schemas';

export interface FuzzRequest {
  readonly body: { readonly string: string } | { readonly bytes: Uint8Array };
  readonly headers: Record<string, string>;
}

/** Values that break careless code: wrong types, boundaries, pollution keys, huge and odd strings. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    16_384,
    16_385,
    2,
    2.000001,
    '',
    ' ',
    'NaN',
    'Infinity',
    '1e309',
    '__proto__',
    'constructor',
    [],
    {},
    [null],
    [{}],
    { __proto__: null, polluted: 'yes' },
    JSON.parse('{"__proto__": {"polluted": "yes"}}') as unknown,
    { constructor: { prototype: { polluted: 'yes' } } },
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202e\ufeff',
    '<script>alert(1)</script>',
    '${7*7}{{7*7}}',
    'data:image/png;base64,AAAA',
    'https://example.com/cat.png',
    'javascript:alert(1)',
  ),
  fc.integer({ min: 0, max: 300_000 }).map(hugeString),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

/**
 * A string of `n` characters. Up to the message limit, words: the simulator's tokenizer (js-tiktoken)
 * takes seconds for a few thousand characters without a space (quadratic), which would time the
 * fuzz test out on the simulator, not on the backend. Above the limit, where the backend rejects
 * the body before any upstream call, one character repeated.
 */
function hugeString(n: number): string {
  if (n > LIMITS.maxMessageChars) return 'x'.repeat(n);
  return 'lorem ipsum '.repeat(Math.ceil(n / 12)).slice(0, n);
}

const chatBase = () => ({
  messages: [{ role: 'user', content: 'Hello' }] as unknown[],
  context: { max_tokens: 8 } as Record<string, unknown>,
});
const openAIBase = () => ({
  model: 'gpt-4o',
  messages: [{ role: 'user', content: 'Hello' }] as unknown[],
  max_tokens: 8,
});

const responsesBase = () => ({
  model: 'gpt-4o',
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }] as unknown,
  max_output_tokens: 16,
});

/** The body kinds the POST endpoints take: AI Chat Protocol, Chat Completions, the Responses API. */
export type BodyKind = 'chat' | 'openai' | 'responses';

const bases: Record<BodyKind, () => Record<string, unknown>> = {
  chat: chatBase,
  openai: openAIBase,
  responses: responsesBase,
};

const chatPaths = [
  ['messages'],
  ['messages', 0],
  ['messages', 0, 'role'],
  ['messages', 0, 'content'],
  ['messages', 0, 'context'],
  ['messages', 1],
  ['context'],
  ['context', 'model'],
  ['context', 'max_tokens'],
  ['context', 'temperature'],
  ['sessionState'],
  ['stream'],
] as const;

const openAIPaths = [
  ['model'],
  ['messages'],
  ['messages', 0],
  ['messages', 0, 'role'],
  ['messages', 0, 'content'],
  ['messages', 0, 'content', 0],
  ['messages', 0, 'name'],
  ['messages', 1],
  ['max_tokens'],
  ['max_completion_tokens'],
  ['temperature'],
  ['top_p'],
  ['n'],
  ['stop'],
  ['presence_penalty'],
  ['seed'],
  ['user'],
  ['logit_bias'],
  ['response_format'],
  ['tools'],
  ['tool_choice'],
  ['stream_options'],
] as const;

const responsesPaths = [
  ['model'],
  ['input'],
  ['input', 0],
  ['input', 0, 'role'],
  ['input', 0, 'type'],
  ['input', 0, 'id'],
  ['input', 0, 'content'],
  ['input', 0, 'content', 0],
  ['input', 0, 'content', 0, 'text'],
  ['input', 1],
  ['instructions'],
  ['previous_response_id'],
  ['max_output_tokens'],
  ['temperature'],
  ['top_p'],
  ['store'],
  ['metadata'],
  ['text'],
  ['truncation'],
  ['tools'],
] as const;

const paths: Record<BodyKind, readonly (readonly (string | number)[])[]> = {
  chat: chatPaths,
  openai: openAIPaths,
  responses: responsesPaths,
};

/** Sets `path` in `target` (creating containers as needed) with own-property semantics. */
function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null) {
      const created = typeof path[i + 1] === 'number' ? [] : {};
      node[key] = created;
      node = created;
    } else {
      node = next as Record<string, unknown>;
    }
  }
}

/** A valid body of `kind` with one field replaced, one key added, and stream maybe on. */
function mutated(kind: BodyKind): fc.Arbitrary<string> {
  return fc
    .record({
      path: fc.option(fc.constantFrom(...paths[kind]), { nil: undefined }),
      value: hostileValue,
      extraKey: fc.option(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'unknown_field'), {
        nil: undefined,
      }),
      stream: fc.boolean(),
      imagePart: fc.boolean(),
    })
    .map(({ path, value, extraKey, stream, imagePart }) => {
      const body = bases[kind]();
      if (stream) body.stream = true;
      if (imagePart && kind === 'openai')
        setPath(
          body,
          ['messages', 0, 'content'],
          [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        );
      if (path) setPath(body, path, value);
      if (extraKey) setPath(body, [extraKey], value);
      return JSON.stringify(body);
    });
}

/** JSON text that JSON.stringify never produces. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 200_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `{"messages":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc
    .integer({ min: 1, max: 30_000 })
    .map(
      (n) =>
        `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}]}`,
    ),
  fc
    .integer({ min: 1, max: 30_000 })
    .map((n) => `{"messages":[{"role":"user","content":"hi"}],"sessionState":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  fc.constantFrom(
    '',
    ' ',
    '\n\t',
    'null',
    'true',
    '0',
    '"messages"',
    '[]',
    '{}',
    'NaN',
    '1e309',
    '{"messages": NaN}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":1e309}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":-0}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":1e-400}',
    '{"messages":[{"role":"user","content":"hi"}],"__proto__":{"polluted":"yes"}}',
    '{"messages":[{"role":"user","content":"hi","__proto__":{"role":"system"}}]}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"__proto__":{"polluted":1}}}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"__proto__":{"polluted":1}}}}',
    '{"messages":[{"role":"user","content":"hi","context":{"__proto__":{"polluted":"yes"}}}]}',
    '{"constructor":{"prototype":{"polluted":"yes"}},"messages":[{"role":"user","content":"hi"}]}',
    '{"messages":[{"role":"user","content":"\\ud800"}]}',
    '{"model":"gpt-4o","messages":[{"role":"user","content":"\\udc00\\ud800 lone"}]}',
    '{"messages":[{"role":"user","content":"hi"}],"messages":[]}',
    '\ufeff{"messages":[{"role":"user","content":"hi"}]}',
    '{"messages":[{"role":"user","content":"hi"}]} trailing',
    '{"messages":[{"role":"user","content":"hi"}',
    "{'messages': []}",
  ),
  fc.json({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 512 }),
);

/** Raw bytes, including invalid UTF-8 inside an otherwise valid body. */
const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 1024 }),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((junk) => {
    const head = Buffer.from('{"messages":[{"role":"user","content":"');
    const tail = Buffer.from('"}],"model":"gpt-4o"}');
    return new Uint8Array(Buffer.concat([head, Buffer.from(junk.map((b) => b | 0x80)), tail]));
  }),
);

/** Header values a real HTTP parser would let through (no CR, LF or NUL). */
const headerText = fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((s) => s.replace(/[\r\n\0]/g, ' '));

const headers: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'content-type': fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        fc.constantFrom(
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/vnd.api+json',
          'application/json-patch+json',
          'text/plain',
          'text/json',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/jsonx',
          'json',
          '',
          ';',
          'application/json; charset=utf-16',
        ),
        headerText,
      ),
      'content-length': fc.oneof(
        fc.constantFrom('0', '-1', '1e309', 'NaN', '99999999999999999999999', '262145', '262144', ' 12 ', 'abc'),
        fc.nat().map(String),
      ),
      accept: fc.constantFrom('text/event-stream', 'application/json', '*/*', 'application/x-ndjson', ''),
      'x-request-id': headerText,
      'x-ms-client-request-id': headerText,
    },
    { requiredKeys: ['content-type'] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

/** A fuzzed POST request for an endpoint taking `kind` bodies. */
export function fuzzRequest(kind: BodyKind): fc.Arbitrary<FuzzRequest> {
  const body = fc.oneof(
    { weight: 4, arbitrary: mutated(kind).map((s) => ({ string: s })) },
    { weight: 3, arbitrary: hostileText.map((s) => ({ string: s })) },
    { weight: 1, arbitrary: hostileBytes.map((b) => ({ bytes: b })) },
  );
  return fc.record({ body, headers }).map(
    (request) =>
      // A failing case is reported in a few lines, not as a 200 KB body.
      Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) }) as FuzzRequest,
  );
}

/** A request in one short line. */
export function describeRequest(request: FuzzRequest): string {
  const body =
    'string' in request.body
      ? `string(${request.body.string.length}) ${JSON.stringify(request.body.string.slice(0, 300))}`
      : `bytes(${request.body.bytes.length}) ${Buffer.from(request.body.bytes.slice(0, 100)).toString('hex')}`;
  return `{ headers: ${JSON.stringify(request.headers)}, body: ${body} }`;
}

/** Headers alone, for GET endpoints. */
export const fuzzHeaders = headers;
