import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every run gets its own TMPDIR and must leave it empty (test/support/temp-dir-check.ts).
    globalSetup: ['test/support/temp-dir-check.ts'],
    setupFiles: ['test/support/no-unhandled.ts', 'test/support/served-client-cleanup.ts'],
    // Generous: the suite starts hundreds of node processes, and on a machine
    // shared with other builds one can take seconds to start.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two test files at once even on a two-core machine (vitest's default leaves one core
    // free, so one file at a time there): most of the suite's time is spent waiting on
    // maped's processes and timers, not computing, and the suite takes about 6 minutes
    // instead of 9.
    maxWorkers: 2,
  },
});
