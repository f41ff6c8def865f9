/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call --
   ARM template JSON is untyped; these helpers and tests walk it as `any` on purpose. */
/**
 * Just enough of Azure Resource Manager's template expression language to evaluate the compiled
 * infra/main.bicep offline: the parameters, variables, module parameters, outputs and app settings
 * the tests look at. Runtime values are stubbed where Azure would compute them (`reference()` of a
 * resource, `uniqueString`, the subscription), and the stubs are visible in the values they produce.
 * An unknown function throws, so a template change that needs more of the language fails loudly.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');
export const SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000001';
export const TENANT_ID = '00000000-0000-0000-0000-0000000000aa';
/** What `deployer().objectId` stands for: the principal running the deployment. */
export const DEPLOYER_OBJECT_ID = '00000000-0000-0000-0000-00000000dep1';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- ARM JSON is untyped by nature.
export type Json = any;

export interface Template {
  readonly parameters?: Record<string, { defaultValue?: Json }>;
  readonly variables?: Record<string, Json>;
  readonly resources: Record<string, Json>;
  readonly outputs?: Record<string, { type?: string; $ref?: string; value: Json }>;
}

export interface CompiledInfra {
  readonly template: Template;
  /** infra/main.bicepparam as built (one stamp). */
  readonly parameters: Record<string, Json>;
  /** The same file built with CHAT_TWO_STAMPS=true (two stamps and Front Door). */
  readonly twoStampParameters: Record<string, Json>;
  readonly log: string;
}

function readParameters(file: string): Record<string, Json> {
  const paramFile = JSON.parse(readFileSync(join(repoRoot, '.bicep/out', file), 'utf8')) as {
    parameters: Record<string, { value: Json }>;
  };
  return Object.fromEntries(Object.entries(paramFile.parameters).map(([k, v]) => [k, v.value]));
}

/** Runs scripts/infra/check.sh (pinned Bicep CLI, lint with zero warnings) and reads what it wrote. */
export function compileInfra(): CompiledInfra {
  // No try/catch: if the Bicep CLI cannot be installed or the lint fails, the tests must fail.
  const log = execFileSync('bash', [join(repoRoot, 'scripts/infra/check.sh')], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const template = JSON.parse(readFileSync(join(repoRoot, '.bicep/out/main.json'), 'utf8')) as Template;
  return {
    template,
    parameters: readParameters('main.parameters.json'),
    twoStampParameters: readParameters('main.two-stamps.parameters.json'),
    log,
  };
}

// ---- expression parsing -------------------------------------------------------------------------

type Node =
  | { kind: 'lit'; value: Json }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'prop'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

function parse(source: string): Node {
  let pos = 0;
  const peek = () => source[pos];
  const skip = () => {
    while (peek() === ' ') pos++;
  };
  const expect = (ch: string) => {
    skip();
    if (source[pos] !== ch) throw new Error(`expected '${ch}' at ${pos} in ${source}`);
    pos++;
  };
  function primary(): Node {
    skip();
    const ch = peek();
    if (ch === "'") {
      let value = '';
      pos++;
      for (;;) {
        if (pos >= source.length) throw new Error(`unterminated string in ${source}`);
        if (source[pos] === "'") {
          if (source[pos + 1] === "'") {
            value += "'";
            pos += 2;
            continue;
          }
          pos++;
          break;
        }
        value += source[pos++];
      }
      return { kind: 'lit', value };
    }
    const num = /^-?\d+/.exec(source.slice(pos));
    if (num) {
      pos += num[0].length;
      return { kind: 'lit', value: Number(num[0]) };
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*?(?=\()/.exec(source.slice(pos));
    if (!ident) throw new Error(`unexpected '${ch}' at ${pos} in ${source}`);
    pos += ident[0].length;
    expect('(');
    const args: Node[] = [];
    skip();
    if (peek() !== ')') {
      for (;;) {
        args.push(expression());
        skip();
        if (peek() === ',') {
          pos++;
          continue;
        }
        break;
      }
    }
    expect(')');
    return { kind: 'call', name: ident[0].toLowerCase(), args };
  }
  function expression(): Node {
    let node = primary();
    for (;;) {
      skip();
      if (peek() === '.') {
        pos++;
        const name = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(source.slice(pos));
        if (!name) throw new Error(`bad property at ${pos} in ${source}`);
        pos += name[0].length;
        node = { kind: 'prop', target: node, name: name[0] };
      } else if (peek() === '[') {
        pos++;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else {
        return node;
      }
    }
  }
  const node = expression();
  skip();
  if (pos !== source.length) throw new Error(`trailing input at ${pos} in ${source}`);
  return node;
}

// ---- evaluation ---------------------------------------------------------------------------------

export interface Scope {
  readonly parameters: Record<string, Json>;
  readonly variables: Record<string, Json>;
  /** Value of `reference(symbol)` (resources) or of a module deployment (`.outputs.x.value`). */
  readonly reference: (symbol: string) => Json;
  /** Index of the resource or module copy loop being evaluated (`copyIndex()`). */
  readonly copyIndex?: number;
  /** Indexes of named copy loops (`copyIndex('name')`): property and variable loops. */
  readonly copyIndexes?: Record<string, number>;
  readonly lambdas?: Record<string, Json>;
}

/** A stable stand-in for ARM's uniqueString (13 lower-case characters, deterministic). */
export function uniqueString(...parts: string[]): string {
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 13);
}

function armString(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function evalNode(node: Node, scope: Scope): Json {
  switch (node.kind) {
    case 'lit':
      return node.value;
    case 'prop': {
      const target = evalNode(node.target, scope);
      if (target === null || typeof target !== 'object' || !(node.name in target)) {
        throw new Error(`no property ${node.name} on ${JSON.stringify(target)}`);
      }
      return target[node.name];
    }
    case 'index':
      return evalNode(node.target, scope)[evalNode(node.index, scope)];
    case 'call':
      return call(node, scope);
  }
}

function call(node: Extract<Node, { kind: 'call' }>, scope: Scope): Json {
  const lazy = node.args;
  if (node.name === 'if') {
    return evalNode(lazy[0]!, scope) ? evalNode(lazy[1]!, scope) : evalNode(lazy[2]!, scope);
  }
  if (node.name === 'lambda') {
    const names = lazy.slice(0, -1).map((n) => evalNode(n, scope) as string);
    const body = lazy[lazy.length - 1]!;
    return (...values: Json[]) =>
      evalNode(body, {
        ...scope,
        lambdas: { ...scope.lambdas, ...Object.fromEntries(names.map((n, i) => [n, values[i]])) },
      });
  }
  const args = lazy.map((n) => evalNode(n, scope));
  switch (node.name) {
    case 'parameters':
      if (!(args[0] in scope.parameters)) throw new Error(`no parameter ${args[0]}`);
      return scope.parameters[args[0]];
    case 'variables':
      if (!(args[0] in scope.variables)) throw new Error(`no variable ${args[0]}`);
      return scope.variables[args[0]];
    case 'lambdavariables':
      return scope.lambdas?.[args[0]];
    case 'copyindex': {
      if (typeof args[0] === 'string') {
        const index = scope.copyIndexes?.[args[0]];
        if (index === undefined) throw new Error(`copyIndex('${args[0]}') outside that copy loop`);
        return index + ((args[1] as number | undefined) ?? 0);
      }
      if (scope.copyIndex === undefined) throw new Error('copyIndex() outside a copy loop');
      return scope.copyIndex + ((args[0] as number | undefined) ?? 0);
    }
    case 'reference':
      return scope.reference(args[0]);
    case 'format':
      return (args[0] as string).replace(/\{(\d+)\}/g, (_, i: string) => armString(args[Number(i) + 1]));
    case 'concat':
      return args.every(Array.isArray) ? args.flat() : args.map(armString).join('');
    case 'createobject': {
      const obj: Record<string, Json> = {};
      for (let i = 0; i < args.length; i += 2) obj[args[i]] = args[i + 1];
      return obj;
    }
    case 'createarray':
      return args;
    case 'union':
      return args.every(Array.isArray) ? [...new Set(args.flat())] : Object.assign({}, ...args);
    case 'toobject':
      return Object.fromEntries((args[0] as Json[]).map((item) => [args[1](item), args[2] ? args[2](item) : item]));
    case 'not':
      return !args[0];
    case 'null':
      return null;
    case 'fail':
      // ARM stops the deployment with this message; so do the tests.
      throw new Error(`fail(): ${String(args[0])}`);
    case 'contains':
      if (typeof args[0] === 'string') return args[0].includes(String(args[1]));
      if (Array.isArray(args[0])) return args[0].some((v) => JSON.stringify(v) === JSON.stringify(args[1]));
      return Object.prototype.hasOwnProperty.call(args[0], args[1]);
    case 'take':
      return args[0].slice(0, args[1]);
    case 'range':
      return Array.from({ length: args[1] as number }, (_, i) => (args[0] as number) + i);
    case 'add':
      return (args[0] as number) + (args[1] as number);
    case 'mod':
      return (args[0] as number) % (args[1] as number);
    case 'deployer':
      return { objectId: DEPLOYER_OBJECT_ID, tenantId: TENANT_ID, userPrincipalName: '' };
    case 'empty':
      return args[0] === null || args[0] === '' || (typeof args[0] === 'object' && Object.keys(args[0]).length === 0);
    case 'equals':
      return JSON.stringify(args[0]) === JSON.stringify(args[1]);
    case 'length':
      return typeof args[0] === 'string' || Array.isArray(args[0]) ? args[0].length : Object.keys(args[0]).length;
    case 'string':
      return armString(args[0]);
    case 'tolower':
      return (args[0] as string).toLowerCase();
    case 'uniquestring':
      return uniqueString(...(args as string[]));
    case 'guid':
      // Kept readable: the tests check what a name is derived from.
      return `guid(${args.join(', ')})`;
    case 'newguid':
      // A new GUID each deployment in Azure; a fixed, recognisable one here.
      return '00000000-0000-4000-8000-newguid00001';
    case 'listkeys':
      // Stands in for the key Azure would return; the tests check where it goes, never its value.
      return { key1: `listKeys(${args[0]}).key1`, key2: `listKeys(${args[0]}).key2` };
    case 'subscription':
      return { id: `/subscriptions/${SUBSCRIPTION_ID}`, subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID };
    case 'tenant':
      return { tenantId: TENANT_ID };
    case 'subscriptionresourceid':
      return `/subscriptions/${SUBSCRIPTION_ID}/providers/${args[0]}/${args.slice(1).join('/')}`;
    case 'resourceid': {
      // resourceId([subscriptionId], [resourceGroupName], type, name...): the type is the first
      // argument that looks like Namespace.Provider/type; a group not given is the deployment's.
      const at = args.findIndex((a) => typeof a === 'string' && /^[A-Za-z]+\.[A-Za-z.]+\//.test(a));
      const [subscriptionId, group] =
        at === 2 ? [args[0], args[1]] : at === 1 ? [SUBSCRIPTION_ID, args[0]] : [SUBSCRIPTION_ID, '<rg>'];
      return `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/${args[at]}/${args.slice(at + 1).join('/')}`;
    }
    case 'extensionresourceid':
      // extensionResourceId(scopeId, type, name...): a resource under another (e.g. a group) by id.
      return `${args[0]}/providers/${args[1]}/${args.slice(2).join('/')}`;
    case 'items':
      return Object.entries(args[0] as Record<string, Json>).map(([key, value]) => ({ key, value }));
    case 'last':
      return (args[0] as Json[]).at(-1);
    case 'split':
      return (args[0] as string).split(args[1] as string);
    default:
      throw new Error(`ARM function ${node.name}() is not implemented in test/infra/arm.ts`);
  }
}

/** Evaluates a template value: a `[expression]` string, or an object/array holding some. */
export function evaluate(value: Json, scope: Scope): Json {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return evalNode(parse(value.slice(1, -1)), scope);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, scope));
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value.copy) && Object.keys(value).length === 1) {
      throw new Error('property copy loops are evaluated by evaluateModuleParameters');
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [evaluate(k, scope), evaluate(v, scope)]));
  }
  return value;
}

/**
 * Evaluates a template's variables, copy loops (`variables.copy`) included. Each is evaluated when
 * first read, as Resource Manager does, so the order they are declared in does not matter.
 */
export function evaluateVariables(template: Template, scope: Omit<Scope, 'variables'>): Record<string, Json> {
  const variables: Record<string, Json> = {};
  const inner = (copyIndexes?: Record<string, number>): Scope => ({
    ...scope,
    variables,
    copyIndexes: { ...scope.copyIndexes, ...copyIndexes },
  });
  const define = (name: string, compute: () => Json) => {
    let cached: { value: Json } | undefined;
    Object.defineProperty(variables, name, {
      enumerable: true,
      get: () => (cached ??= { value: compute() }).value,
    });
  };
  for (const [name, value] of Object.entries(template.variables ?? {})) {
    if (name === '$fxv#0') continue;
    if (name === 'copy') {
      for (const loop of value as { name: string; count: string; input: Json }[]) {
        define(loop.name, () =>
          Array.from({ length: evaluate(loop.count, inner()) as number }, (_, i) =>
            evaluate(loop.input, inner({ [loop.name]: i })),
          ),
        );
      }
    } else {
      define(name, () => evaluate(value, inner()));
    }
  }
  return variables;
}

/** Parameters a module deployment passes to its template, with property copy loops expanded. */
export function evaluateModuleParameters(module: Json, scope: Scope): Record<string, Json> {
  const result: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(module.properties.parameters as Record<string, Json>)) {
    if (spec.copy) {
      const loop = spec.copy[0];
      const count = evaluate(loop.count, scope) as number;
      result[name] = Array.from({ length: count }, (_, i) =>
        evaluate(loop.input, { ...scope, copyIndexes: { ...scope.copyIndexes, [loop.name]: i } }),
      );
    } else if (typeof spec === 'string') {
      // A parameter chosen by a condition compiles to one expression yielding { value }.
      result[name] = (evaluate(spec, scope) as { value: Json }).value;
    } else {
      result[name] = evaluate(spec.value, scope);
    }
  }
  return result;
}

/** Fills in a template's parameter defaults. */
export function withDefaults(
  template: Template,
  given: Record<string, Json>,
  scope: Omit<Scope, 'parameters'>,
): Record<string, Json> {
  const parameters = { ...given };
  for (const [name, spec] of Object.entries(template.parameters ?? {})) {
    if (!(name in parameters) && spec.defaultValue !== undefined) {
      parameters[name] = evaluate(spec.defaultValue, { ...scope, parameters });
    }
  }
  return parameters;
}
