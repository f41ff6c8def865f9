/** Timers that fire only when the test says so; `armed()` resolves once a timer is waiting. */
import type { Timers } from '../../shared/timers';

export class ManualTimers implements Timers {
  readonly #callbacks = new Map<number, { callback: () => void; ms: number }>();
  #nextId = 0;
  #onArm: (() => void) | undefined;
  scheduled = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.#nextId;
    this.#callbacks.set(id, { callback, ms });
    this.scheduled += 1;
    this.#onArm?.();
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#callbacks.delete(handle as number);
  }

  /** The delays of the timers still waiting, ms. */
  waiting(): number[] {
    return [...this.#callbacks.values()].map((t) => t.ms);
  }

  armed(): Promise<void> {
    if (this.#callbacks.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onArm = () => {
        this.#onArm = undefined;
        resolve();
      };
    });
  }

  /** The time passes: once a timer is waiting, every waiting timer fires. */
  async elapse(): Promise<void> {
    await this.armed();
    const due = [...this.#callbacks.values()];
    this.#callbacks.clear();
    for (const { callback } of due) callback();
  }
}
