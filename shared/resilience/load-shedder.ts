/**
 * Load shedding: when this instance's event loop falls behind, a new request is turned away
 * at once (503 `overloaded` with Retry-After, see shared/http/overload.ts) instead of queueing behind the
 * backlog, where its wait, and every later request's, grows without bound.
 *
 * The signal is event-loop lag, sampled by the drift of one unref'd interval timer ({@link startLagSampler}):
 * one callback every 50 ms doing a subtraction. `perf_hooks.monitorEventLoopDelay` measures the same drift
 * with a native timer (100 wake-ups a second at its default resolution) and a histogram, and would still
 * need a JS timer of ours to turn the histogram into a decision; the drift of that one timer is the
 * measurement at the granularity the decision is taken at. Admission reads one boolean.
 *
 * The lag is smoothed (an exponentially weighted average over time, {@link LAG_SMOOTHING_MS}) so one long
 * garbage collection does not shed, and there are two marks (hysteresis): shedding starts when the
 * smoothed lag reaches `CHAT_SHED_LAG_MS` and stops only when it is back under half of it, so the instance
 * does not flap between the two states at every sample.
 *
 * Combined with the in-flight count: a request is turned away only while another admitted request is still
 * running. A lone request cannot overload an instance, and the lag it meets then is the instance's own (a
 * fresh instance loading code for its first chats, a garbage collection): shedding it would help nothing.
 * In flight means from admission until the handler returns (for a stream: until its first byte).
 */
import type { Logger } from '../logger';
import { intSetting, type Env } from '../settings';

/** How often the lag is sampled, ms. */
export const LAG_SAMPLE_INTERVAL_MS = 50;

/** Time constant of the smoothed lag, ms: a sample's weight is `1 - exp(-elapsed / this)`. */
export const LAG_SMOOTHING_MS = 1_000;

/** Shortest and longest Retry-After of a shed request, ms. */
export const SHED_RETRY_AFTER_MS = { min: 1_000, max: 10_000 } as const;

/** Up to this share is added to each Retry-After at random, so turned-away clients do not return in one wave. */
export const SHED_RETRY_JITTER = 0.25;

export interface OverloadSettings {
  /**
   * `CHAT_SHED_LAG_MS`: smoothed event-loop lag at which new requests are turned away, ms; they are admitted
   * again once it is back under half of this. Default 100; 0 turns shedding off.
   */
  readonly lagMs: number;
}

export const OVERLOAD_DEFAULTS: OverloadSettings = Object.freeze({ lagMs: 100 });

/** Reads `CHAT_SHED_LAG_MS`; throws ConfigError naming it when it is not a whole number from 0 to 60 000. */
export function overloadSettings(env: Env): OverloadSettings {
  return Object.freeze({
    lagMs: intSetting(env, 'CHAT_SHED_LAG_MS', { fallback: OVERLOAD_DEFAULTS.lagMs, min: 0, max: 60_000 }),
  });
}

/** What GET /api/health shows. `shed`: requests turned away since the instance started. */
export type OverloadState =
  | { readonly state: 'off' }
  | {
      readonly state: 'admitting' | 'shedding';
      /** Smoothed event-loop lag, ms (rounded). */
      readonly lagMs: number;
      readonly thresholdMs: number;
      /** Admitted requests whose handler has not returned yet. */
      readonly inFlight: number;
      readonly shed: number;
    };

/** A request turned away: when to come back, and the lag that decided it (ms). */
export interface Shed {
  readonly retryAfterMs: number;
  readonly lagMs: number;
  readonly thresholdMs: number;
}

/** A change of state: shedding started (`shed` 0) or stopped (`shed`: how many were turned away meanwhile). */
export interface OverloadChange {
  readonly shedding: boolean;
  readonly lagMs: number;
  readonly thresholdMs: number;
  readonly shed: number;
}

/** Telemetry's side of shedding: every request turned away, and every change of state. */
export interface OverloadObserver {
  onShed?(report: { readonly route: string; readonly lagMs: number }): void;
  onOverloadChange?(change: OverloadChange): void;
}

/**
 * The smoothed lag after a sample of `sampleMs` taken `elapsedMs` after the previous one. A sample stands for the
 * time since the previous one, except its own stall, which counts for at most one sampling interval: a single
 * long stall (a garbage collection, a cold instance loading code) is one late sample, and must not weigh as if
 * the loop had lagged that much all along (a 330 ms stall would otherwise lift a quiet instance past 100 ms).
 */
export function smoothLag(previousMs: number, sampleMs: number, elapsedMs: number): number {
  const counted = Math.max(0, elapsedMs - sampleMs + Math.min(sampleMs, LAG_SAMPLE_INTERVAL_MS));
  const weight = 1 - Math.exp(-counted / LAG_SMOOTHING_MS);
  return previousMs + weight * (sampleMs - previousMs);
}

/**
 * Retry-After of a shed request, ms: how long the smoothed lag takes to fall from `lagMs` under the
 * recovery mark if no new work came in (`LAG_SMOOTHING_MS * ln(lag / recovery)`), within
 * {@link SHED_RETRY_AFTER_MS}, plus up to {@link SHED_RETRY_JITTER} of it at random (`random` in [0, 1)).
 */
export function shedRetryAfterMs(lagMs: number, recoveryMs: number, random: number): number {
  const decay = LAG_SMOOTHING_MS * Math.log(Math.max(1, lagMs / Math.max(1, recoveryMs)));
  const base = Math.min(SHED_RETRY_AFTER_MS.max, Math.max(SHED_RETRY_AFTER_MS.min, decay));
  return Math.ceil(base * (1 + SHED_RETRY_JITTER * random));
}

/** Something that stops: the sampler's timer. */
export interface Stoppable {
  stop(): void;
}

export interface LagSamplerOptions {
  /** Called with each sample: how late the timer fired and the time since the last sample, ms. */
  readonly onLag: (lagMs: number, elapsedMs: number) => void;
  /** Default {@link LAG_SAMPLE_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** Monotonic clock, ms; default `performance.now`. */
  readonly now?: () => number;
}

/** Samples the event loop's lag: the drift of an interval timer that never keeps the process alive. */
export function startLagSampler(options: LagSamplerOptions): Stoppable {
  const intervalMs = options.intervalMs ?? LAG_SAMPLE_INTERVAL_MS;
  const now = options.now ?? (() => performance.now());
  let last = now();
  const timer = setInterval(() => {
    const at = now();
    const elapsed = at - last;
    last = at;
    options.onLag(Math.max(0, elapsed - intervalMs), elapsed);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export interface LoadShedderOptions {
  readonly settings: OverloadSettings;
  readonly observer?: OverloadObserver;
  /** Where changes of state are logged (a warning when shedding starts). */
  readonly logger?: Logger;
  /** Starts the lag source feeding {@link LoadShedder.observe}; default {@link startLagSampler}. */
  readonly sampler?: (onLag: (lagMs: number, elapsedMs: number) => void) => Stoppable;
  /** For the Retry-After jitter; default Math.random. */
  readonly random?: () => number;
}

/** One per process: the lag it is fed, whether it sheds, and what it has shed. */
export class LoadShedder {
  readonly #thresholdMs: number;
  readonly #recoveryMs: number;
  readonly #options: LoadShedderOptions;
  readonly #sampler: Stoppable | undefined;
  #lagMs = 0;
  #shedding = false;
  #shed = 0;
  #shedAtStart = 0;
  #inFlight = 0;

  constructor(options: LoadShedderOptions) {
    this.#options = options;
    this.#thresholdMs = options.settings.lagMs;
    this.#recoveryMs = this.#thresholdMs / 2;
    const sampler = options.sampler ?? ((onLag) => startLagSampler({ onLag }));
    this.#sampler = this.#thresholdMs > 0 ? sampler((lag, elapsed) => this.observe(lag, elapsed)) : undefined;
  }

  /**
   * Admission, asked before any other work: undefined to go on (then call {@link done} when the handler
   * returns), or the Shed to answer with. `route` names what was shed, for telemetry.
   */
  admit(route: string): Shed | undefined {
    if (!this.#shedding || this.#inFlight === 0) {
      this.#inFlight += 1;
      return undefined;
    }
    this.#shed += 1;
    const lagMs = Math.round(this.#lagMs);
    this.#options.observer?.onShed?.({ route, lagMs });
    const retryAfterMs = shedRetryAfterMs(this.#lagMs, this.#recoveryMs, (this.#options.random ?? Math.random)());
    return { retryAfterMs, lagMs, thresholdMs: this.#thresholdMs };
  }

  /** An admitted request's handler returned. */
  done(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }

  /**
   * One lag sample, ms (`elapsedMs`: since the previous sample; by default what an interval timer that fired
   * `lagMs` late took). The sampler calls this; a test feeds it by hand.
   */
  observe(lagMs: number, elapsedMs: number = LAG_SAMPLE_INTERVAL_MS + lagMs): void {
    if (this.#thresholdMs === 0) return;
    this.#lagMs = smoothLag(this.#lagMs, lagMs, elapsedMs);
    const shedding = this.#shedding ? this.#lagMs >= this.#recoveryMs : this.#lagMs >= this.#thresholdMs;
    if (shedding !== this.#shedding) this.#change(shedding);
  }

  state(): OverloadState {
    if (this.#thresholdMs === 0) return { state: 'off' };
    return {
      state: this.#shedding ? 'shedding' : 'admitting',
      lagMs: Math.round(this.#lagMs),
      thresholdMs: this.#thresholdMs,
      inFlight: this.#inFlight,
      shed: this.#shed,
    };
  }

  /** Stops sampling (the timer never keeps the process alive; this is for a test that feeds the lag itself). */
  close(): void {
    this.#sampler?.stop();
  }

  #change(shedding: boolean): void {
    this.#shedding = shedding;
    const shed = shedding ? 0 : this.#shed - this.#shedAtStart;
    this.#shedAtStart = this.#shed;
    const change = { shedding, lagMs: Math.round(this.#lagMs), thresholdMs: this.#thresholdMs, shed };
    const { logger, observer } = this.#options;
    if (shedding) logger?.warn('Overloaded: turning new requests away (503 overloaded)', change);
    else logger?.info('No longer overloaded: admitting requests again', change);
    observer?.onOverloadChange?.(change);
  }
}
