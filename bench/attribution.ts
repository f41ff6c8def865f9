/**
 * Where the backend's CPU goes, from a V8 CPU profile (bench/cpu-profiler.ts): each sample is charged to the
 * innermost frame on its stack that belongs to a part we can name (the local host, the `@azure/functions`
 * library, our handlers and shared/, the `openai` client, zod, telemetry). Node's own code (http, streams,
 * fetch) is charged to the part that called it; when no part is on the stack (a socket read, a timer, fetch
 * finishing a body after an await), the sample goes to a Node row named by its innermost Node frame.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A named part, and whether it runs in Azure (the app and the library) or only on a laptop (the local host). */
export interface Part {
  readonly name: string;
  readonly where: 'azure' | 'local host' | 'either';
}

/** Parts by the path of a frame's script, innermost first wins. Order matters: the first match names the part. */
const PARTS: readonly { readonly match: RegExp; readonly part: Part }[] = [
  {
    match: /\/dist\/local\//,
    part: { name: 'local host (local/host: routing, keys, proxying to the library)', where: 'local host' },
  },
  {
    match: /\/node_modules\/@azure\/functions\//,
    part: { name: '`@azure/functions` library (its HTTP proxy, Request/Response conversion)', where: 'azure' },
  },
  { match: /\/node_modules\/openai\//, part: { name: '`openai` client (upstream call)', where: 'azure' } },
  { match: /\/node_modules\/zod\//, part: { name: 'request validation (zod)', where: 'azure' } },
  {
    match: /\/dist\/shared\/telemetry\/|\/dist\/shared\/logger|\/node_modules\/applicationinsights\//,
    part: { name: 'logging and telemetry', where: 'azure' },
  },
  { match: /\/dist\/functions\//, part: { name: 'handlers (functions/)', where: 'azure' } },
  { match: /\/dist\/shared\//, part: { name: 'chat service (shared/)', where: 'azure' } },
  { match: /\/node_modules\//, part: { name: 'other packages', where: 'azure' } },
];

/** Node's code with no part of ours on the stack, by the innermost Node frame's script. */
const NODE_ROWS: readonly { readonly match: RegExp; readonly part: Part }[] = [
  // Only the app and the library use fetch (the `openai` client upstream, the library's Request and Response); the
  // local host never does, so fetch's work after an await, with no caller left on the stack, is theirs.
  { match: /undici/, part: { name: 'Node: fetch (undici) after an await', where: 'azure' } },
  { match: /_http_|internal\/http|node:http/, part: { name: 'Node: HTTP parsing and sockets', where: 'either' } },
  { match: /net|stream_base|tcp/, part: { name: 'Node: sockets', where: 'either' } },
  { match: /streams/, part: { name: 'Node: streams', where: 'either' } },
  { match: /timers/, part: { name: 'Node: timers', where: 'either' } },
  { match: /./, part: { name: 'Node: other', where: 'either' } },
];

/**
 * The local host's wrappers around the response it hands to the library (local/host/handover.ts: `res.write`,
 * `res.end`, ...) pass the library's own writes through to Node: what runs under them is the library's, as it
 * would be on the loopback hop or in Azure, so they are looked through rather than charged to the host.
 */
function passesThrough(frame: CallFrame): boolean {
  return frame.url.endsWith('/dist/local/host/handover.js') && frame.functionName.startsWith('res.');
}

const GC: Part = { name: 'garbage collection', where: 'either' };
const NATIVE: Part = { name: 'V8 and native code with no JavaScript frame (program)', where: 'either' };
/** JSON's native work, a row of its own, on the side of whoever called it. */
const JSON_PARTS: Record<Part['where'], Part> = {
  azure: { name: 'JSON.parse / JSON.stringify, called by the app or the library', where: 'azure' },
  'local host': { name: 'JSON.parse / JSON.stringify, called by the local host', where: 'local host' },
  either: { name: 'JSON.parse / JSON.stringify, called by Node', where: 'either' },
};

export interface Attribution {
  /** CPU time in the profile, ms (idle excluded). */
  readonly busyMs: number;
  readonly rows: readonly { readonly part: Part; readonly ms: number }[];
}

/** Reads a `.cpuprofile` and charges each sample's time to a part (idle time left out). */
export function attribute(file: string): Attribution {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const partOf = new Map<number, Part | undefined>();
  const totals = new Map<Part, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0;
    if (!partOf.has(id)) partOf.set(id, classify(id, byId, parent));
    const part = partOf.get(id);
    if (part === undefined) continue;
    totals.set(part, (totals.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const rows = [...totals].map(([part, ms]) => ({ part, ms })).sort((a, b) => b.ms - a.ms);
  return { busyMs: rows.reduce((sum, row) => sum + row.ms, 0), rows };
}

function classify(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): Part | undefined {
  const leaf = byId.get(id)?.callFrame;
  if (leaf?.functionName === '(idle)' || leaf?.functionName === '(root)') return undefined;
  if (leaf?.functionName === '(garbage collector)') return GC;
  if (leaf?.functionName === '(program)') return NATIVE;
  const isJson =
    leaf !== undefined && leaf.url === '' && (leaf.functionName === 'parse' || leaf.functionName === 'stringify');
  const part = owner(id, byId, parent);
  return isJson ? JSON_PARTS[part.where] : part;
}

/** The innermost named part on the sample's stack, else a Node row by its innermost Node frame. */
function owner(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): Part {
  let innermostNode: string | undefined;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (frame && passesThrough(frame)) continue;
    const url = frame?.url ?? '';
    const part = PARTS.find((candidate) => candidate.match.test(url))?.part;
    if (part) return part;
    if (innermostNode === undefined && url.startsWith('node:')) innermostNode = url;
  }
  return NODE_ROWS.find((row) => row.match.test(innermostNode ?? ''))?.part ?? NATIVE;
}
