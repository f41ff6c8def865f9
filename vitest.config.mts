import { defineConfig } from 'vitest/config';

// CI runs files and tests in a random order, so no test passes only because another ran first. The seed
// is printed; `VITEST_SEED=N npm test` replays that order (and shuffles locally too).
const shuffle = process.env.CI === 'true' || process.env.VITEST_SEED !== undefined;
const seed = Number(process.env.VITEST_SEED ?? Math.floor(Math.random() * 1_000_000));
if (shuffle) console.log(`vitest: files and tests shuffled, seed ${seed} (replay: VITEST_SEED=${seed} npm test)`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Servers in tests bind to port 0 on loopback; nothing here needs more than a few seconds.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    sequence: { shuffle, seed },
    // Load shedding reacts to this machine's event-loop lag, which other work on a shared machine moves: off
    // in tests, so no test depends on the load beside it; test/e2e/overload.test.ts turns it on and feeds the lag.
    env: { CHAT_SHED_LAG_MS: '0' },
  },
});
