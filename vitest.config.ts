import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every run gets its own TMPDIR and must leave it empty (test/support/temp-dir-check.ts).
    globalSetup: ['test/support/temp-dir-check.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
