import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Servers in tests bind to port 0 on loopback; nothing here needs more than a few seconds.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
