// Builds the busybox fixture once per test run (as root) and checks that the
// CLI was compiled, so integration tests fail with a reason, not a mystery.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(project: TestProject): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  if (!existsSync(`${repo}dist/cli/tsrun.js`)) problems.push('dist/ is not built (run `npm ci` or `npm run build`)');
  if (!existsSync(`${repo}build/Release/tsrun.node`)) problems.push('the native addon is not built (run `npm ci`)');
  let rootfs = '';
  if (problems.length === 0) {
    rootfs = execFileSync('bash', [`${repo}rootfs-fixtures/busybox.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n')
      .pop()!;
  }
  project.provide('integrationSkip', problems.join('; '));
  project.provide('busyboxRootfs', rootfs);
}

declare module 'vitest' {
  export interface ProvidedContext {
    integrationSkip: string;
    busyboxRootfs: string;
  }
}
