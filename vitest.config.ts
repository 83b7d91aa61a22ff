import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['node_modules/**', 'out/**', 'tests/fixtures/data/**', 'tests/bench/**'],
    pool: 'forks',
    // The machine has 2 cores; end-to-end tests each start a server and a browser.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
