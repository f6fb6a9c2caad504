import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Guards against hangs, not speed checks: a slow CI machine runs the heavier tests 3-6x slower.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Two cores: files run in parallel forks, each with its own database copy.
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
