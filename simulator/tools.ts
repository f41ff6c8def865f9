// Function tools: which calls the simulated model makes, with what arguments, and what it answers once
// it has the results. Deterministic, so tests (and a client comparing two regions) get the same calls for
// the same request. The rule (simulator/README.md, "Tool calls"):
// - `tool_choice: "none"`, or no tools: no call.
// - a named function (`{"type":"function", ...}`): that function, always.
// - `"required"`: the tools the last user message names, else the first tool; always, even right after a
//   tool result (a model told it must call a tool does).
// - `"auto"` (the default): the tools the last user message names, and only when the conversation ends with
//   that user message; after a tool result it answers in text.
// - `parallel_tool_calls: false`: at most one call.
// Arguments are the smallest value the tool's JSON schema accepts (see minimalValue).
import { randomInt } from 'node:crypto';
import type { ErrorAnswer } from './responses';
import { invalidRequest } from './responses';
import { contentText } from './tokens';

/** A function tool the request offers. */
export interface ToolSpec {
  readonly name: string;
  /** The JSON schema of its arguments; undefined when the tool takes none. */
  readonly parameters: unknown;
}

export type ToolChoice =
  { readonly kind: 'none' | 'auto' | 'required' } | { readonly kind: 'function'; readonly name: string };

/** The tools of a request, as the simulated model sees them. */
export interface ToolOptions {
  readonly tools: readonly ToolSpec[];
  readonly choice: ToolChoice;
  readonly parallel: boolean;
}

/** One call the model makes. */
export interface PlannedCall {
  /** `call_` and 24 letters and digits, like Azure's. */
  readonly callId: string;
  readonly name: string;
  /** The arguments as JSON text. */
  readonly arguments: string;
}

/** The API whose request shapes to read: Chat Completions nests `function`, the Responses API does not. */
export type ToolApi = 'chat' | 'responses';

/** Reads `tools`, `tool_choice` and `parallel_tool_calls`, with OpenAI's wording for what is wrong. */
export function parseTools(record: Readonly<Record<string, unknown>>, api: ToolApi): ToolOptions | ErrorAnswer {
  const rawTools = record['tools'] ?? [];
  if (!Array.isArray(rawTools)) {
    return invalidRequest("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  }
  const tools: ToolSpec[] = [];
  for (const [index, raw] of (rawTools as unknown[]).entries()) {
    const tool = asRecord(raw);
    if (tool['type'] !== 'function') {
      return invalidRequest(
        `Tool type '${String(tool['type'])}' is not supported by this simulator (only 'function').`,
        `tools[${index}].type`,
        'invalid_value',
      );
    }
    const fields = api === 'chat' ? asRecord(tool['function']) : tool;
    if (typeof fields['name'] !== 'string' || fields['name'] === '') {
      const param = api === 'chat' ? `tools[${index}].function.name` : `tools[${index}].name`;
      return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
    }
    tools.push({ name: fields['name'], parameters: fields['parameters'] });
  }
  const choice = parseChoice(record['tool_choice'], api);
  if (choice === undefined) {
    return invalidRequest("Invalid value for 'tool_choice'.", 'tool_choice', 'invalid_value');
  }
  if (choice.kind === 'function' && !tools.some((t) => t.name === choice.name)) {
    return invalidRequest(
      `Invalid value for 'tool_choice': function '${choice.name}' is not in 'tools'.`,
      'tool_choice',
      'invalid_value',
    );
  }
  if (choice.kind === 'required' && tools.length === 0) {
    return invalidRequest(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
      'invalid_value',
    );
  }
  return { tools, choice, parallel: record['parallel_tool_calls'] !== false };
}

function parseChoice(raw: unknown, api: ToolApi): ToolChoice | undefined {
  if (raw === undefined || raw === null || raw === 'auto') return { kind: 'auto' };
  if (raw === 'none' || raw === 'required') return { kind: raw };
  const record = asRecord(raw);
  if (record['type'] !== 'function') return undefined;
  const name = api === 'chat' ? asRecord(record['function'])['name'] : record['name'];
  return typeof name === 'string' ? { kind: 'function', name } : undefined;
}

/**
 * The calls the model makes for `messages` (chat messages: tool results as `role: "tool"`), by the rule in
 * the module comment; empty when it answers in text.
 */
export function planToolCalls(
  options: ToolOptions,
  messages: readonly Readonly<Record<string, unknown>>[],
): PlannedCall[] {
  const { tools, choice } = options;
  if (tools.length === 0 || choice.kind === 'none') return [];
  const lastUser = [...messages].reverse().find((m) => m['role'] === 'user');
  const named = tools.filter((tool) => lastUser !== undefined && mentions(contentText(lastUser['content']), tool.name));
  let chosen: readonly ToolSpec[];
  if (choice.kind === 'function') chosen = tools.filter((t) => t.name === choice.name).slice(0, 1);
  else if (choice.kind === 'required') chosen = named.length > 0 ? named : tools.slice(0, 1);
  else chosen = messages.at(-1)?.['role'] === 'user' ? named : [];
  if (!options.parallel) chosen = chosen.slice(0, 1);
  return chosen.map((tool) => ({
    callId: callId(),
    name: tool.name,
    arguments: JSON.stringify(minimalValue(tool.parameters ?? { type: 'object', properties: {} }, tool.parameters)),
  }));
}

/** Whether `text` names `tool` as a word of its own (`get_time`, not `get_times`). */
function mentions(text: string, tool: string): boolean {
  const escaped = tool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_-])${escaped}($|[^A-Za-z0-9_-])`).test(text);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh `call_` id with 24 characters after the prefix, like Azure's. */
export function callId(): string {
  let suffix = '';
  for (let i = 0; i < 24; i++) suffix += ID_ALPHABET[randomInt(ID_ALPHABET.length)] ?? 'A';
  return `call_${suffix}`;
}

/** Deepest nesting followed; deeper (or recursive) schemas get `null`. */
const MAX_DEPTH = 16;

/**
 * The smallest value `schema` accepts, deterministically: `const`, else the first `enum` value, else by
 * type: an object with its required properties (each minimal), an array of `minItems` minimal items, the
 * lowest number allowed, `false`, `null`, or a string of `minLength` characters ("x" when it may be empty,
 * so an argument reads as something). `anyOf`/`oneOf` take their first choice, `allOf` merges, local
 * `$ref`s (`#/$defs/...`, `#/definitions/...`) are followed.
 */
export function minimalValue(schema: unknown, root: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  const s = asRecord(schema);
  if (typeof s['$ref'] === 'string') return minimalValue(resolveRef(root, s['$ref']), root, depth + 1);
  if ('const' in s) return s['const'];
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const choices = list(s[key]);
    if (choices.length > 0) {
      const firstNonNull = choices.find((c) => asRecord(c)['type'] !== 'null') ?? choices[0];
      return minimalValue(firstNonNull, root, depth + 1);
    }
  }
  if (Array.isArray(s['allOf'])) {
    const merged = s['allOf'].reduce<Record<string, unknown>>((all, part) => mergeSchemas(all, asRecord(part)), {});
    return minimalValue(merged, root, depth + 1);
  }
  const types = list(s['type']);
  const type: unknown = Array.isArray(s['type']) ? (types.find((t) => t !== 'null') ?? types[0]) : s['type'];
  switch (type) {
    case 'object':
      return minimalObject(s, root, depth);
    case 'array': {
      const count = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
      return Array.from({ length: count }, () => minimalValue(s['items'] ?? {}, root, depth + 1));
    }
    case 'integer':
    case 'number':
      return minimalNumber(s, type === 'integer');
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'string':
      return minimalString(s);
    default:
      return 'properties' in s ? minimalObject(s, root, depth) : null;
  }
}

function minimalObject(s: Record<string, unknown>, root: unknown, depth: number): Record<string, unknown> {
  const properties = asRecord(s['properties']);
  const required = Array.isArray(s['required']) ? s['required'].filter((r) => typeof r === 'string') : [];
  const value: Record<string, unknown> = {};
  for (const name of required) value[name] = minimalValue(properties[name] ?? {}, root, depth + 1);
  return value;
}

function minimalNumber(s: Record<string, unknown>, integer: boolean): number {
  const min = typeof s['minimum'] === 'number' ? s['minimum'] : undefined;
  const exclusive = typeof s['exclusiveMinimum'] === 'number' ? s['exclusiveMinimum'] : undefined;
  let value = min ?? (exclusive === undefined ? 0 : exclusive + (integer ? 1 : 0.5));
  if (exclusive !== undefined && value <= exclusive) value = exclusive + (integer ? 1 : 0.5);
  if (integer) value = Math.ceil(value);
  const step = typeof s['multipleOf'] === 'number' && s['multipleOf'] > 0 ? s['multipleOf'] : undefined;
  if (step !== undefined) value = Math.ceil(value / step) * step;
  return value;
}

/** Strings by format where one is given, so a validator that checks formats accepts them too. */
const FORMATTED: Readonly<Record<string, string>> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  email: 'user@example.com',
  uri: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
};

function minimalString(s: Record<string, unknown>): string {
  const formatted = typeof s['format'] === 'string' ? FORMATTED[s['format']] : undefined;
  if (formatted !== undefined) return formatted;
  const min = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
  const max = typeof s['maxLength'] === 'number' ? s['maxLength'] : Infinity;
  return 'x'.repeat(Math.min(Math.max(min, 1), max));
}

function mergeSchemas(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const required = [...list(a['required']), ...list(b['required'])];
  return {
    ...a,
    ...b,
    properties: { ...asRecord(a['properties']), ...asRecord(b['properties']) },
    ...(required.length > 0 ? { required } : {}),
  };
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const raw of ref
    .slice(1)
    .split('/')
    .filter((p) => p !== '')) {
    node = asRecord(node)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node ?? {};
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A tool result the conversation ends with: the call it answers and what the tool returned. */
export interface ToolResult {
  readonly name: string;
  readonly output: string;
}

/**
 * The tool results the conversation ends with (the `role: "tool"` messages after the last assistant
 * message with `tool_calls`), each with the name of the function it answers; empty when it ends otherwise.
 */
export function trailingToolResults(messages: readonly Readonly<Record<string, unknown>>[]): ToolResult[] {
  const results: Readonly<Record<string, unknown>>[] = [];
  let index = messages.length - 1;
  for (; index >= 0 && messages[index]?.['role'] === 'tool'; index--) results.unshift(messages[index] ?? {});
  if (results.length === 0) return [];
  const names = new Map<string, string>();
  for (const message of messages.slice(0, index + 1)) {
    if (message['role'] !== 'assistant' || !Array.isArray(message['tool_calls'])) continue;
    for (const call of message['tool_calls'] as unknown[]) {
      const fields = asRecord(call);
      const name = asRecord(fields['function'])['name'];
      if (typeof fields['id'] === 'string' && typeof name === 'string') names.set(fields['id'], name);
    }
  }
  return results.map((result) => ({
    name: names.get(String(result['tool_call_id'])) ?? 'tool',
    output: contentText(result['content']),
  }));
}

/** Characters of a tool's output the answer repeats; the rest is left out, as a summary would. */
const QUOTED_OUTPUT_CHARS = 200;

/** The opening of an answer that uses tool results: what each tool returned, quoted. */
export function toolResultsPreamble(results: readonly ToolResult[]): string {
  return results
    .map(({ name, output }) => {
      const quoted = output.length > QUOTED_OUTPUT_CHARS ? `${output.slice(0, QUOTED_OUTPUT_CHARS)}…` : output;
      return `The ${name} tool returned ${quoted}.`;
    })
    .join(' ');
}
