/**
 * What sign-in and quotas add to a chat, in one run: token validation and the caller gate in
 * this process with the JWKS cached; the quota check (`admit` + `recordUsage`) against Azurite on loopback
 * with the table warm, for one user and for many, and in memory for the floor; and end to end, the backend
 * answering non-streamed chats with a function key (sign-in off) beside the same backend taking a bearer
 * token with quotas in Azurite, interleaved. Azurite runs on a temporary folder and is removed after.
 */
import { HttpRequest } from '@azure/functions';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startAzurite, type Azurite } from '../local/azurite';
import { objectIdFor, startIdentityProvider, type RunningIdentityProvider } from '../local/identity';
import { chatAccess } from '../shared/auth/access';
import { principalId, type UserCaller } from '../shared/auth/caller';
import { createCallerGate } from '../shared/auth/gate';
import { parseUserAuthSettings } from '../shared/auth/settings';
import { createTokenValidator } from '../shared/auth/token-validator';
import { silentLogger } from '../shared/logger';
import {
  createQuotaService,
  partitionKey,
  quotaSettings,
  quotaTableClient,
  type QuotaService,
  type QuotaStoreState,
} from '../shared/quota';
import { backendClient, closedLoop, interleaved, mergeLoops } from './load';
import { regionsSetting, startBackendProcess, startSimulatorProcess, type BackendProcess } from './processes';
import type { SideResult } from './report';
import { ms, percentile } from './stats';

/** p50 and p99 of a series of sequential calls, ms. */
export interface Timing {
  readonly p50: number;
  readonly p99: number;
  readonly calls: number;
}

/** One quota leg: each call is an `admit` then a `recordUsage`, as the chat path makes them. */
export interface QuotaLeg {
  readonly name: string;
  readonly admit: Timing;
  readonly recordUsage: Timing;
  readonly total: Timing;
  /** CPU time of this process per check (the Tables SDK's share; Azurite's is its own process), ms. */
  readonly clientCpuMs: number;
}

export interface EndToEndSide extends SideResult {
  /** CPU time (user + system) the backend process spent per request, ms. */
  readonly backendCpuMsPerRequest: number;
}

export interface EndToEnd {
  readonly functionKey: EndToEndSide;
  readonly bearer: EndToEndSide;
  /**
   * The signed-in backend's quota store after the run, from its health endpoint: `ok` when it never fell
   * back to memory (the app's 300 ms store timeout holds there, as in production).
   */
  readonly storeState: string;
}

export interface AuthResult {
  readonly validate: Timing;
  readonly gate: Timing;
  readonly quota: readonly QuotaLeg[];
  /** One `TableClient.getEntity` of an existing row: one store round trip through the SDK. */
  readonly storeRead: Timing;
  /** How many users the many-users leg cycles through (a partition each). */
  readonly users: number;
  readonly endToEnd: EndToEnd;
  /** JWKS fetches the identity provider served over the whole phase (bench validator and backend). */
  readonly jwksFetches: number;
}

export interface AuthOptions {
  readonly log: (message: string) => void;
  /** Scales the call and request counts (`BENCH_QUICK`). */
  readonly scale: (n: number) => number;
}

/** Users of the many-users leg: enough that no partition is reused within a few calls. */
const USERS = 200;
/** Tokens recorded per check: about one short answer's usage. */
const TOKENS_PER_ANSWER = 60;

export async function authOverhead(options: AuthOptions): Promise<AuthResult> {
  const location = mkdtempSync(path.join(tmpdir(), 'bench-azurite-'));
  let azurite: Azurite | undefined;
  let identity: RunningIdentityProvider | undefined;
  try {
    [azurite, identity] = await Promise.all([startAzurite({ location }), startIdentityProvider({ port: 0 })]);
    const env = signedInSettings(identity, azurite);
    const token = await identity.token('bench-user');
    const inProcess = await validation(env, token, options);
    const quota = await quotaChecks(env, identity.tenantId, options);
    const endToEnd = await chats(env, token, options);
    return { ...inProcess, ...quota, endToEnd, users: USERS, jwksFetches: identity.stats().jwks };
  } finally {
    await Promise.all([azurite?.stop(), identity?.close()]);
    rmSync(location, { recursive: true, force: true });
  }
}

/** The app settings of a backend that takes only signed-in users and counts quotas in this Azurite. */
function signedInSettings(identity: RunningIdentityProvider, azurite: Azurite): Record<string, string> {
  return {
    ...identity.backendSettings(),
    CHAT_AUTH_CALLERS: 'users',
    CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
    // High enough that the bench is never refused, non-zero so that every counter is read and written.
    CHAT_USER_REQUESTS_PER_MINUTE: '1000000',
    CHAT_USER_TOKENS_PER_DAY: '1000000000000',
  };
}

/** `calls` sequential calls of `fn(i)`, each timed, ms. */
async function timeCalls(calls: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await fn(i);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

function timing(latencies: readonly number[]): Timing {
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), calls: latencies.length };
}

/** The validator and the gate built as production.ts builds them, each timed on an accepted token. */
async function validation(
  env: Record<string, string>,
  token: string,
  { log, scale }: AuthOptions,
): Promise<{ validate: Timing; gate: Timing }> {
  const settings = parseUserAuthSettings(env).token;
  if (!settings) throw new Error('bench: the sign-in settings name no token issuer');
  const validator = createTokenValidator({ token: settings });
  const gate = createCallerGate({ access: chatAccess(env), validator });
  const authorization = `Bearer ${token}`;
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1/api/v1/chat/completions',
    headers: { authorization },
  });
  // The first call fetches the OpenID configuration and the JWKS; the rest find the key cached. The
  // loops before the measured ones warm the JIT, so neither side carries it.
  const first = await validator.validate(authorization);
  if (!first.ok) throw new Error(`bench: the local token was refused (${first.failure})`);
  await timeCalls(scale(500), () => validator.validate(authorization));
  const validate = timing(await timeCalls(scale(3000), () => validator.validate(authorization)));
  await timeCalls(scale(500), () => gate.admit(request));
  const admitted = timing(await timeCalls(scale(3000), () => gate.admit(request)));
  log(
    `auth: validate p50 ${ms(validate.p50)} p99 ${ms(validate.p99)} ms; gate admit p50 ${ms(admitted.p50)} ` +
      `p99 ${ms(admitted.p99)} ms (${validate.calls} calls each, JWKS cached)`,
  );
  return { validate, gate: admitted };
}

/**
 * The quota legs: Azurite with one user and with many (interleaved, a, b, b, a halves, so neither leg
 * gets the quieter or the warmer half of the machine), then memory only; and one bare store read.
 */
async function quotaChecks(
  env: Record<string, string>,
  tenantId: string,
  options: AuthOptions,
): Promise<{ quota: QuotaLeg[]; storeRead: Timing }> {
  const user = (name: string): UserCaller => ({ kind: 'user', id: principalId(tenantId, objectIdFor(tenantId, name)) });
  const callers = { a: [user('bench-one')], b: Array.from({ length: USERS }, (_, i) => user(`bench-${i}`)) };
  // A generous store timeout (the app's is 300 ms): on a busy shared machine one slow call would otherwise
  // switch the service to memory for 5 s and the leg would time memory, not the store.
  const stored = createQuotaService({ settings: quotaSettings(env), logger: silentLogger, timeoutMs: 5_000 });
  const { CHAT_STORAGE_CONNECTION_STRING: _store, ...withoutStore } = env;
  const memory = createQuotaService({ settings: quotaSettings(withoutStore), logger: silentLogger });
  const half = Math.ceil(options.scale(1000) / 2);
  // Warm-up: the table made, every row written once, the SDK loaded and its code hot.
  for (const side of ['a', 'b'] as const) await quotaSamples(stored, callers[side], Math.max(USERS, 300));
  const sides = await interleaved((side) => quotaSamples(stored, callers[side], half));
  await quotaSamples(memory, callers.a, 300);
  const quota = [
    quotaLeg('one user, Azurite', sides.a),
    quotaLeg(`${USERS} users, Azurite`, sides.b),
    quotaLeg('one user, memory (no store)', [await quotaSamples(memory, callers.a, 2 * half)]),
  ];
  const state = stored.state();
  if (state.state !== 'ok' || 'since' in state)
    throw new Error('bench: the quota store degraded during the run, so the legs timed memory too');
  for (const leg of quota) {
    options.log(
      `auth: quota ${leg.name}: admit + recordUsage p50 ${ms(leg.total.p50)} p99 ${ms(leg.total.p99)} ms ` +
        `(admit p50 ${ms(leg.admit.p50)}, recordUsage p50 ${ms(leg.recordUsage.p50)}, this process's CPU ${ms(leg.clientCpuMs)} ms)`,
    );
  }
  const storeRead = await storeReads(env, callers.a[0] ?? user('bench-one'), 2 * half);
  options.log(`auth: one store read (getEntity) p50 ${ms(storeRead.p50)} p99 ${ms(storeRead.p99)} ms`);
  return { quota, storeRead };
}

/** Raw samples of a run of quota checks, ms, and this process's CPU over it, microseconds. */
interface QuotaSamples {
  readonly admit: number[];
  readonly recordUsage: number[];
  readonly total: number[];
  readonly cpuMicros: number;
}

/** `calls` checks cycling through `callers`, each an `admit` then a `recordUsage`, as the chat path makes them. */
async function quotaSamples(
  service: QuotaService,
  callers: readonly UserCaller[],
  calls: number,
): Promise<QuotaSamples> {
  const admit: number[] = [];
  const recordUsage: number[] = [];
  const cpu = process.cpuUsage();
  const total = await timeCalls(calls, async (i) => {
    const caller = callers[i % callers.length] ?? callers[0]!;
    const started = performance.now();
    await service.admit(caller);
    const admitted = performance.now();
    await service.recordUsage(caller, TOKENS_PER_ANSWER);
    admit.push(admitted - started);
    recordUsage.push(performance.now() - admitted);
  });
  const used = process.cpuUsage(cpu);
  return { admit, recordUsage, total, cpuMicros: used.user + used.system };
}

function quotaLeg(name: string, parts: readonly QuotaSamples[]): QuotaLeg {
  const all = (pick: (p: QuotaSamples) => number[]) => timing(parts.flatMap(pick));
  const total = all((p) => p.total);
  return {
    name,
    admit: all((p) => p.admit),
    recordUsage: all((p) => p.recordUsage),
    total,
    clientCpuMs: parts.reduce((a, p) => a + p.cpuMicros, 0) / 1000 / total.calls,
  };
}

/** One row read through the SDK, as the quota store reads it: the round trip every counter call pays. */
async function storeReads(env: Record<string, string>, caller: UserCaller, calls: number): Promise<Timing> {
  const settings = quotaSettings(env);
  if (settings.store.kind === 'none') throw new Error('bench: no quota store configured');
  const client = await quotaTableClient(settings.store, settings.table);
  // A row the warm-up wrote (the per-day token count), so every read finds it.
  const read = () => client.getEntity(partitionKey(caller), 'tokens-per-day');
  await timeCalls(100, read);
  return timing(await timeCalls(calls, read));
}

/** Non-streamed chats at concurrency 1: a function key with sign-in off (a) beside a bearer token with quotas (b). */
async function chats(env: Record<string, string>, token: string, { log, scale }: AuthOptions): Promise<EndToEnd> {
  const region = await startSimulatorProcess({ region: 'eastus2', latency: 'none' });
  const regions = { CHAT_REGIONS: regionsSetting([region]) };
  const backends: BackendProcess[] = [];
  try {
    backends.push(await startBackendProcess({ settings: regions }));
    backends.push(await startBackendProcess({ settings: { ...regions, ...env } }));
    const [keyed, signedIn] = backends as [BackendProcess, BackendProcess];
    const clients = { a: backendClient(keyed.url), b: backendClient(signedIn.url, { bearer: token }) };
    await closedLoop(clients.a, 1, scale(200));
    await closedLoop(clients.b, 1, scale(200));
    const half = Math.ceil(scale(1000) / 2);
    const cpuMicros = { a: 0, b: 0 };
    const sides = await interleaved(async (side) => {
      const backend = side === 'a' ? keyed : signedIn;
      const before = (await backend.stats()).cpuMicros;
      const result = await closedLoop(clients[side], 1, half);
      cpuMicros[side] += (await backend.stats()).cpuMicros - before;
      return result;
    });
    const side = (which: 'a' | 'b'): EndToEndSide => ({
      ...mergeLoops(sides[which]),
      backendCpuMsPerRequest: cpuMicros[which] / 1000 / (2 * half),
    });
    const result = { functionKey: side('a'), bearer: side('b'), storeState: await storeState(signedIn) };
    log(
      `auth: end to end c=1: function key p50 ${ms(result.functionKey.p50)} ms, bearer + quotas p50 ${ms(result.bearer.p50)} ms ` +
        `(added ${ms(result.bearer.p50 - result.functionKey.p50)} ms); failures ${result.functionKey.failures}/${result.bearer.failures}; ` +
        `quota store ${result.storeState}`,
    );
    return result;
  } finally {
    await Promise.all([...backends.map((b) => b.stop()), region.stop()]);
  }
}

/** The quota store's state from the backend's health endpoint: `ok`, `ok after an outage`, `degraded` or `local`. */
async function storeState(backend: BackendProcess): Promise<string> {
  const health = (await (await fetch(`${backend.url}/api/health`)).json()) as { store?: QuotaStoreState };
  const store = health.store;
  if (store === undefined) return 'unknown';
  return store.state === 'ok' && store.since !== undefined ? 'ok after an outage' : store.state;
}
