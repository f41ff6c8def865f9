import type { RecentRequest, SimulatorStats } from './types';

/** How many recent requests {@link StatsRecorder} keeps. */
export const RECENT_LIMIT = 200;

/** Counts what the simulator served; `/_sim/*` calls are not recorded. */
export class StatsRecorder {
  #total = 0;
  #byStatus: Record<string, number> = {};
  #byDeployment: Record<string, number> = {};
  #streamed = 0;
  #promptTokens = 0;
  #completionTokens = 0;
  #recent: RecentRequest[] = [];

  record(request: RecentRequest): void {
    this.#total += 1;
    this.#byStatus[String(request.status)] = (this.#byStatus[String(request.status)] ?? 0) + 1;
    if (request.deployment !== null) {
      this.#byDeployment[request.deployment] = (this.#byDeployment[request.deployment] ?? 0) + 1;
    }
    if (request.streamed) this.#streamed += 1;
    this.#recent.push(request);
    if (this.#recent.length > RECENT_LIMIT) this.#recent.splice(0, this.#recent.length - RECENT_LIMIT);
  }

  /** Adds the tokens of an answered completion. */
  addTokens(promptTokens: number, completionTokens: number): void {
    this.#promptTokens += promptTokens;
    this.#completionTokens += completionTokens;
  }

  snapshot(region: string): SimulatorStats {
    return {
      region,
      total: this.#total,
      byStatus: { ...this.#byStatus },
      byDeployment: { ...this.#byDeployment },
      streamed: this.#streamed,
      nonStreamed: this.#total - this.#streamed,
      promptTokens: this.#promptTokens,
      completionTokens: this.#completionTokens,
      recent: [...this.#recent],
    };
  }

  reset(): void {
    this.#total = 0;
    this.#byStatus = {};
    this.#byDeployment = {};
    this.#streamed = 0;
    this.#promptTokens = 0;
    this.#completionTokens = 0;
    this.#recent = [];
  }
}
