/** Messages between the benchmark and its backend process (the IPC channel of `child_process.fork`). */
import type { StreamTaps } from './tap';

export type ToBackend =
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'tap'; readonly id: number; readonly enabled: boolean }
  | { readonly type: 'taps'; readonly id: number }
  | { readonly type: 'profile'; readonly id: number; readonly action: 'start' | 'stop'; readonly file?: string };

export type FromBackend =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly rss?: number;
      readonly heapUsed?: number;
      readonly cpuMicros?: number;
      readonly taps?: Record<string, StreamTaps>;
    };

/** The function key the benchmark's backend accepts. */
export const BENCH_FUNCTION_KEY = 'bench-function-key';
