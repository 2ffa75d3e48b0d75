// Builds the busybox fixture once per test run (as root) and checks that the
// CLI was compiled (and bundled), so integration tests fail with a reason, not a mystery.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(project: TestProject): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  if (!existsSync(`${repo}dist/cli/tsrun.js`)) problems.push('dist/ is not built (run `npm ci` or `npm run build`)');
  if (!existsSync(`${repo}build/Release/tsrun.node`)) problems.push('the native addon is not built (run `npm ci`)');
  // The tests run bin/tsrun as users do: from the bundle, which a tsc after it leaves stale.
  if (problems.length === 0 && !bundleFresh()) execFileSync(process.execPath, [`${repo}scripts/bundle.mjs`], { stdio: 'inherit' });
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

function bundleFresh(): boolean {
  const mtime = (f: string) => (existsSync(`${repo}${f}`) ? statSync(`${repo}${f}`).mtimeMs : 0);
  return ['tsrun', 'tsrun-oci'].every((b) => mtime(`dist/bundle/${b}.cjs`) >= mtime(`dist/cli/${b}.js`));
}

declare module 'vitest' {
  export interface ProvidedContext {
    integrationSkip: string;
    busyboxRootfs: string;
  }
}
