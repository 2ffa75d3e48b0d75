import { defineConfig } from 'vitest/config';

// Three tiers (see README): test/unit runs anywhere; test/integration needs
// root and real kernel features and skips, saying why, without them;
// test/vm boots a cgroup v2 kernel (arrives with the lifecycle issue).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests start real containers; two cores do not like 8 at once.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
