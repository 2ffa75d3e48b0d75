import { defineConfig } from 'vitest/config';

// The VM tier (`npm run test:vm`, scripts/vm/run-tests.sh): these files run
// inside a QEMU guest on a pure cgroup v2 host, with TSRUN_VM=1. To run a
// test file there as well, add its path to this list.
const vmTests = ['test/vm/cgroup-v2-smoke.test.ts', 'test/integration/limits.test.ts'];

// Inside the VM the driver's results share is writable; the JSON report lands
// there for the host to keep.
const results = process.env.TSRUN_VM_RESULTS;

export default defineConfig({
  test: {
    include: vmTests,
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: results
      ? ['default', ['json', { outputFile: `${results}/vitest.json` }], './test/helpers/summary-reporter.ts']
      : ['default', './test/helpers/summary-reporter.ts'],
    // The guest is emulated (TCG): node runs some 30x slower than on the host.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    teardownTimeout: 120_000,
    // One worker: two V8 workers at once crashed node (SIGSEGV/SIGTRAP)
    // under TCG here; files run one after another.
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
  },
});
