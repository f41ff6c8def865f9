/** The validation edge cases one by one: every limit at its boundary, and what the client is told. */
import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { ChatError } from '../../shared/errors';
import {
  DEFAULT_MAX_BODY_BYTES,
  jsonDepth,
  loneSurrogatePath,
  MAX_JSON_DEPTH,
  readJsonBody,
  validate,
} from '../../shared/http/body';
import { chatProtocolRequest, LIMITS, openAIChatRequest } from '../../shared/http/schemas';

function request(body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/chat',
    headers,
    body: typeof body === 'string' ? { string: body } : { bytes: body },
  });
}

async function rejection(work: Promise<unknown>): Promise<ChatError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

function validationError(schema: Parameters<typeof validate>[0], value: unknown): ChatError {
  try {
    validate(schema, value);
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error;
  }
  throw new Error('expected the value to be rejected');
}

const nested = (depth: number) => `{"sessionState":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('readJsonBody', () => {
  it.each([
    ['application/json'],
    ['application/json; charset=utf-8'],
    ['Application/JSON'],
    ['application/vnd.api+json'],
    ['application/json; charset=UTF-8'],
    ['application/json;charset="utf-8"'],
    ['application/json; charset=utf8'],
  ])('accepts the content type %s', async (type) => {
    await expect(readJsonBody(request('{"a":1}', { 'content-type': type }))).resolves.toEqual({ a: 1 });
  });

  it.each([
    ['text/plain', 415, 'unsupported_media_type'],
    ['application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['application/jsonx', 415, 'unsupported_media_type'],
    ['', 415, 'unsupported_media_type'],
    ['application/json; charset=utf-16', 415, 'unsupported_media_type'],
    ['application/json; charset="iso-8859-1"', 415, 'unsupported_media_type'],
    ['application/json; charset=', 415, 'unsupported_media_type'],
  ])('rejects the content type "%s" with %i', async (type, status, code) => {
    const error = await rejection(readJsonBody(request('{}', type ? { 'content-type': type } : {})));
    expect([error.status, error.code]).toEqual([status, code]);
  });

  it.each([
    ['an empty body', '', 'invalid_json', /empty/],
    ['only whitespace', ' \n\t', 'invalid_json', /empty/],
    ['a truncated object', '{"messages": [', 'invalid_json', /not valid JSON/],
    ['single quotes', "{'a': 1}", 'invalid_json', /not valid JSON/],
    ['NaN', 'NaN', 'invalid_json', /not valid JSON/],
    ['a byte order mark', '\ufeff{}', 'invalid_json', /not valid JSON/],
    [`nesting ${MAX_JSON_DEPTH + 1} deep`, nested(MAX_JSON_DEPTH + 1), 'invalid_request', /deeper than 64/],
  ])('rejects %s with a 400 that says why', async (_name, body, code, message) => {
    const error = await rejection(readJsonBody(request(body)));
    expect(error.status).toBe(400);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it(`accepts nesting ${MAX_JSON_DEPTH} deep`, async () => {
    await expect(readJsonBody(request(nested(MAX_JSON_DEPTH)))).resolves.toBeTruthy();
  });

  it.each([
    ['a body one byte over the limit', 'x'.repeat(DEFAULT_MAX_BODY_BYTES - 1), {}],
    ['a Content-Length over the limit, whatever the body', '', { 'content-length': '99999999999999999999' }],
  ])('rejects %s with 413', async (_name, padding, headers) => {
    const body = padding ? `"${padding}"` : '{}';
    const error = await rejection(readJsonBody(request(body, { 'content-type': 'application/json', ...headers })));
    expect([error.status, error.code]).toEqual([413, 'payload_too_large']);
  });

  it('says which charset it refuses and that UTF-8 is the one to send', async () => {
    const body = new Uint8Array(Buffer.from('{"a":"b"}', 'utf16le'));
    const error = await rejection(readJsonBody(request(body, { 'content-type': 'application/json; charset=utf-16' })));
    expect(error.message).toBe('Send the body as UTF-8 JSON: charset "utf-16" is not supported.');
  });

  it.each([
    ['stop', '{"stop":["ok","\\ud800"]}', 'stop.1'],
    ['user', '{"user":"\\udc00x"}', 'user'],
    [
      'tool arguments',
      '{"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"{\\"a\\":\\"\\ud83d\\"}"}}]}]}',
      'messages.0.tool_calls.0.function.arguments',
    ],
    ['sessionState', '{"sessionState":{"deep":[["\\udbff"]]}}', 'sessionState.deep.0.0'],
    ['a key', '{"sessionState":{"\\ud800":1}}', 'sessionState (a key)'],
    ['the body itself', '"\\ud800"', '(body)'],
  ])('refuses a lone surrogate in %s with a 400 naming the field', async (_name, body, path) => {
    const error = await rejection(readJsonBody(request(body)));
    expect([error.status, error.code]).toEqual([400, 'invalid_request']);
    expect(error.fields).toEqual([{ path, message: 'must be valid Unicode text (it has a lone surrogate)' }]);
  });

  it('finds no lone surrogate in pairs, emoji or escaped pairs', () => {
    expect(loneSurrogatePath(JSON.parse('{"a":["Hi 👋","\\ud83d\\udc4b"],"b":{"c":"\\u00e9"}}'))).toBeUndefined();
  });

  it('accepts a body of exactly the limit', async () => {
    const body = `"${'x'.repeat(DEFAULT_MAX_BODY_BYTES - 2)}"`;
    await expect(readJsonBody(request(body))).resolves.toHaveLength(DEFAULT_MAX_BODY_BYTES - 2);
  });

  it('reads invalid UTF-8 as replacement characters, for the schema to judge', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('"}')]);
    await expect(readJsonBody(request(new Uint8Array(bytes)))).resolves.toEqual({ a: '\ufffd\ufffd(' });
  });
});

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['{}', 1],
    ['[[],[[]]]', 3],
    ['{"a":"[[[[{{{{"}', 1],
    ['["\\"[[[["]', 1],
    ['{"a":{"b":[1,{"c":2}]}}', 4],
  ])('counts %s as %i deep, ignoring brackets in strings', (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });
});

const user = (content: unknown) => ({ role: 'user', content });
const chat = (extra: Record<string, unknown> = {}) => ({ messages: [user('Hello')], ...extra });
const openai = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [user('Hello')], ...extra });

describe('the chat protocol request', () => {
  it.each([
    ['one message', chat()],
    [`${LIMITS.maxMessages} messages`, { messages: Array.from({ length: LIMITS.maxMessages }, () => user('hi')) }],
    [`${LIMITS.maxMessageChars} characters`, { messages: [user('x'.repeat(LIMITS.maxMessageChars))] }],
    [
      'system and assistant turns',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          user('hi'),
          { role: 'assistant', content: 'Hi!' },
          user('Bye'),
        ],
      },
    ],
    ['max_tokens at the cap', chat({ context: { max_tokens: LIMITS.maxTokens } })],
    ['temperature 0 and 2', chat({ context: { temperature: 2 } })],
    ['any sessionState', chat({ sessionState: { nested: [1, 'two', null] } })],
    ['an emoji (a surrogate pair)', { messages: [user('Hi 👋')] }],
  ])('accepts %s', (_name, body) => {
    expect(() => validate(chatProtocolRequest, body)).not.toThrow();
  });

  it.each([
    ['no messages', { messages: [] }, 'messages'],
    ['messages not an array', { messages: 'hi' }, 'messages'],
    [
      `${LIMITS.maxMessages + 1} messages`,
      { messages: Array.from({ length: LIMITS.maxMessages + 1 }, () => user('hi')) },
      'messages',
    ],
    [
      `${LIMITS.maxMessageChars + 1} characters`,
      { messages: [user('x'.repeat(LIMITS.maxMessageChars + 1))] },
      'messages.0.content',
    ],
    ['the role tool', { messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role'],
    ['content that is not text', { messages: [user([{ type: 'text', text: 'hi' }])] }, 'messages.0.content'],
    ['a lone surrogate', { messages: [user('bad \ud800 text')] }, 'messages.0.content'],
    ['an unknown message field', { messages: [{ ...user('hi'), name: 'bob' }] }, 'messages.0'],
    ['an unknown top-level field', chat({ temperature: 1 }), '(body)'],
    ['an unknown context field', chat({ context: { top_p: 1 } }), 'context'],
    ['max_tokens over the cap', chat({ context: { max_tokens: LIMITS.maxTokens + 1 } }), 'context.max_tokens'],
    ['max_tokens 0', chat({ context: { max_tokens: 0 } }), 'context.max_tokens'],
    ['max_tokens 1.5', chat({ context: { max_tokens: 1.5 } }), 'context.max_tokens'],
    ['max_tokens as a string', chat({ context: { max_tokens: '10' } }), 'context.max_tokens'],
    ['temperature over 2', chat({ context: { temperature: 2.01 } }), 'context.temperature'],
    ['a negative temperature', chat({ context: { temperature: -0.1 } }), 'context.temperature'],
    ['a model name with a space', chat({ context: { model: 'gpt 4o' } }), 'context.model'],
    ['an empty model name', chat({ context: { model: '' } }), 'context.model'],
    ['a JSON array body', [], '(body)'],
    ['a JSON null body', null, '(body)'],
  ])('rejects %s, naming the field', (_name, body, path) => {
    const error = validationError(chatProtocolRequest, body);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.fields?.map((f) => f.path)).toContain(path);
  });

  it('keeps every field message short even when a client sends a huge unknown key', () => {
    const error = validationError(chatProtocolRequest, chat({ ['k'.repeat(100_000)]: 1 }));
    for (const field of error.fields ?? []) expect(field.message.length + field.path.length).toBeLessThan(600);
    expect(error.message.length).toBeLessThanOrEqual(1000);
  });
});

describe('the OpenAI chat completions request', () => {
  const image = (url: string, role = 'user') => ({
    role,
    content: [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url, detail: 'low' } },
    ],
  });

  it.each([
    ['the minimum', openai()],
    ['nulls where OpenAI SDKs send them', openai({ temperature: null, stop: null, max_tokens: null, stream: null })],
    ['an https image part', openai({ messages: [image('https://example.com/cat.png')] })],
    ['a data URL image part', openai({ messages: [image('data:image/png;base64,iVBORw0KGgo=')] })],
    [
      'developer and tool turns',
      openai({
        messages: [
          { role: 'developer', content: 'Be brief.' },
          user('hi'),
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', content: '42', tool_call_id: 't1' },
        ],
      }),
    ],
    [
      'tools with a schema',
      openai({
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
        tool_choice: 'auto',
      }),
    ],
    [
      'parameters at their bounds',
      openai({
        max_tokens: LIMITS.maxTokens,
        temperature: 0,
        top_p: 1,
        presence_penalty: -2,
        frequency_penalty: 2,
        n: 1,
        stop: ['a', 'b', 'c', 'd'],
        logit_bias: { '50256': -100 },
        seed: 7,
        user: 'u1',
      }),
    ],
    ['logprobs and reasoning effort', openai({ logprobs: true, top_logprobs: 20, reasoning_effort: 'low' })],
    ['stream with usage', openai({ stream: true, stream_options: { include_usage: true } })],
  ])('accepts %s', (_name, body) => {
    expect(() => validate(openAIChatRequest, body)).not.toThrow();
  });

  it.each([
    ['no model', { messages: [user('hi')] }, 'model'],
    [
      'an http image URL',
      openai({ messages: [image('http://example.com/cat.png')] }),
      'messages.0.content.1.image_url.url',
    ],
    [
      'an image part in a system message',
      openai({ messages: [image('https://example.com/cat.png', 'system')] }),
      'messages.0.content',
    ],
    ['an unknown role', openai({ messages: [{ role: 'wizard', content: 'hi' }] }), 'messages.0.role'],
    [
      'a tool message without tool_call_id',
      openai({ messages: [{ role: 'tool', content: 'x' }] }),
      'messages.0.tool_call_id',
    ],
    ['n = 2', openai({ n: 2 }), 'n'],
    ['top_p over 1', openai({ top_p: 1.01 }), 'top_p'],
    ['presence_penalty under -2', openai({ presence_penalty: -2.5 }), 'presence_penalty'],
    ['five stop sequences', openai({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
    [
      'max_completion_tokens over the cap',
      openai({ max_completion_tokens: LIMITS.maxTokens + 1 }),
      'max_completion_tokens',
    ],
    ['a participant name with a space', openai({ messages: [{ ...user('hi'), name: 'Ann Lee' }] }), 'messages.0.name'],
    ['a logit_bias key that is not a token id', openai({ logit_bias: { hello: 1 } }), 'logit_bias.hello'],
    ['a logit_bias over 100', openai({ logit_bias: { '1': 101 } }), 'logit_bias.1'],
    [
      'a tool name with a dot',
      openai({ tools: [{ type: 'function', function: { name: 'a.b' } }] }),
      'tools.0.function.name',
    ],
    ['an unknown field', openai({ functions: [] }), '(body)'],
    ['an unknown stream option', openai({ stream_options: { include_usage: true, extra: 1 } }), 'stream_options'],
    ['top_logprobs over 20', openai({ top_logprobs: 21 }), 'top_logprobs'],
  ])('rejects %s, naming the field', (_name, body, path) => {
    const error = validationError(openAIChatRequest, body);
    expect(error.code).toBe('invalid_request');
    expect(error.fields?.map((f) => f.path)).toContain(path);
  });
});
