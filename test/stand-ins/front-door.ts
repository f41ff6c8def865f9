/**
 * A stand-in for Azure Front Door's priority origin group, on loopback: it probes every origin's health path every
 * interval, keeps each origin's last `sampleSize` answers, and sends every request to the origin of the lowest
 * priority among the healthy ones. As documented (https://learn.microsoft.com/azure/frontdoor/health-probes):
 * a probe succeeds only with 200 (any other status, or no valid answer, is a failure); an origin is healthy when at
 * least `successfulSamplesRequired` of its last `sampleSize` probes succeeded; when no origin is healthy, every
 * enabled origin counts as healthy (so priority 1 gets the traffic). Front Door's many edges each keep their own
 * window; one prober stands for one edge.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Origin {
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:7071` (the probe path and request paths are appended). */
  readonly url: string;
  /** 1 is tried first. */
  readonly priority: number;
}

export interface ProbeSettings {
  /** `healthProbeSettings.probePath`. */
  readonly probePath: string;
  /** `healthProbeSettings.probeIntervalInSeconds`, in ms (scaled down in tests). */
  readonly intervalMs: number;
  /** `loadBalancingSettings.sampleSize`. */
  readonly sampleSize: number;
  /** `loadBalancingSettings.successfulSamplesRequired`. */
  readonly successfulSamplesRequired: number;
}

/** One probe round: what each origin answered, which were healthy after it, and where requests went from then. */
export interface ProbeRound {
  readonly index: number;
  /** `performance.now()` when the round ended. */
  readonly at: number;
  readonly answers: Readonly<Record<string, number | 'no-answer'>>;
  readonly healthy: Readonly<Record<string, boolean>>;
  readonly routeTo: string;
}

/** Whether an origin is healthy from its samples (oldest first; true is a 200). */
export function isHealthy(samples: readonly boolean[], settings: ProbeSettings): boolean {
  const window = samples.slice(-settings.sampleSize);
  return window.filter(Boolean).length >= settings.successfulSamplesRequired;
}

/** The origin requests go to: the lowest priority among the healthy, or among all when none is healthy. */
export function routeTo(origins: readonly Origin[], healthy: Readonly<Record<string, boolean>>): Origin {
  const candidates = origins.some((o) => healthy[o.name]) ? origins.filter((o) => healthy[o.name]) : origins;
  const [first] = [...candidates].sort((a, b) => a.priority - b.priority);
  if (!first) throw new Error('No origins');
  return first;
}

export class FrontDoorStandIn {
  readonly rounds: ProbeRound[] = [];
  /** Which origin each proxied request was sent to, in the order they came. */
  readonly served: string[] = [];
  readonly #origins: readonly Origin[];
  readonly #settings: ProbeSettings;
  readonly #samples = new Map<string, boolean[]>();
  readonly #server: Server;
  readonly #waiters = new Set<() => void>();
  #route: Origin;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(origins: readonly Origin[], settings: ProbeSettings) {
    this.#origins = origins;
    this.#settings = settings;
    for (const o of origins) this.#samples.set(o.name, []);
    this.#route = routeTo(origins, {});
    this.#server = createServer((req, res) => this.#proxy(req, res));
  }

  /** Starts the proxy on a free loopback port and the probe loop (first round at once). */
  static async start(origins: readonly Origin[], settings: ProbeSettings): Promise<FrontDoorStandIn> {
    const frontDoor = new FrontDoorStandIn(origins, settings);
    await new Promise<void>((resolve) => frontDoor.#server.listen(0, '127.0.0.1', resolve));
    void frontDoor.#loop();
    return frontDoor;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves with the first round from now on that `predicate` accepts; rejects after `maxRounds` rounds. */
  untilRound(predicate: (round: ProbeRound) => boolean, maxRounds: number): Promise<ProbeRound> {
    const from = this.rounds.length;
    return new Promise((resolve, reject) => {
      const look = () => {
        for (let i = from; i < this.rounds.length; i++) {
          const round = this.rounds[i]!;
          if (predicate(round)) return finish(() => resolve(round));
        }
        if (this.rounds.length - from >= maxRounds || this.#closed)
          finish(() => reject(new Error(`No such probe round within ${maxRounds} rounds: ${this.#describe(from)}`)));
      };
      const finish = (settle: () => void) => {
        this.#waiters.delete(look);
        settle();
      };
      this.#waiters.add(look);
      look();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of [...this.#waiters]) waiter();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #loop(): Promise<void> {
    if (this.#closed) return;
    const started = performance.now();
    const answers = Object.fromEntries(
      await Promise.all(this.#origins.map(async (o) => [o.name, await this.#probe(o)] as const)),
    );
    if (this.#closed) return;
    const healthy: Record<string, boolean> = {};
    for (const o of this.#origins) {
      const samples = this.#samples.get(o.name)!;
      samples.push(answers[o.name] === 200);
      healthy[o.name] = isHealthy(samples, this.#settings);
    }
    this.#route = routeTo(this.#origins, healthy);
    this.rounds.push({
      index: this.rounds.length,
      at: performance.now(),
      answers,
      healthy,
      routeTo: this.#route.name,
    });
    for (const waiter of [...this.#waiters]) waiter();
    const wait = Math.max(0, this.#settings.intervalMs - (performance.now() - started));
    this.#timer = setTimeout(() => void this.#loop(), wait);
  }

  async #probe(origin: Origin): Promise<number | 'no-answer'> {
    try {
      const response = await fetch(`${origin.url}${this.#settings.probePath}`, {
        headers: { 'user-agent': 'Edge Health Probe' },
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 'no-answer';
    }
  }

  #proxy(req: IncomingMessage, res: ServerResponse): void {
    const origin = this.#route;
    this.served.push(origin.name);
    const target = new URL(req.url ?? '/', origin.url);
    const upstream = httpRequest(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-front-door-origin': origin.name });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'x-front-door-origin': origin.name });
      res.end();
    });
    req.pipe(upstream);
  }

  #describe(from: number): string {
    return JSON.stringify(this.rounds.slice(from).map((r) => ({ answers: r.answers, routeTo: r.routeTo })));
  }
}
