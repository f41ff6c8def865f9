/**
 * V8's sampling CPU profiler in the backend process (the one `node --cpu-prof` uses), started and stopped over
 * the inspector around a measured load only, so start-up and the idle wait afterwards stay out of the profile.
 * The profile is written as a `.cpuprofile` (opens in Chrome DevTools or VS Code); bench/attribution.ts reads it.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';

/** Sampling interval, µs: fine enough for calls of a few µs to show up over thousands of requests. */
const SAMPLING_INTERVAL_US = 50;

export function cpuProfiler(): { start(): Promise<void>; stop(file: string): Promise<void> } {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  return {
    start: async () => {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
      await post('Profiler.start');
    },
    stop: async (file) => {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
    },
  };
}
