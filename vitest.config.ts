import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/end-leases.ts'],
    pool: 'forks',
    // As bin/pgshift.js: the WebAssembly SQL parser compiled by the baseline compiler only.
    poolOptions: { forks: { execArgv: ['--liftoff-only'] } },
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
