// tsrun installed under a path a file URL must percent-encode (a space, '#',
// '%'): the bundles' stand-in for import.meta.url (scripts/bundle.mjs) takes
// a plain path as it is and any other through pathToFileURL, and the addon,
// the monitor and the exit command are all found from it.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, repo, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('install-path');

describe.skipIf(skip)('an install under a path with a space, # and %', () => {
  const base = mkdtempSync(join(tmpdir(), 'tsrun install #1 %41-'));
  const sb = sandbox();
  afterAll(() => {
    sb.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  it('runs a container from its bundle', async () => {
    for (const d of ['bin', 'dist']) cpSync(join(repo, d), join(base, d), { recursive: true, preserveTimestamps: true });
    for (const l of ['node_modules', 'build', 'package.json']) symlinkSync(join(repo, l), join(base, l));
    const r = await execa('node', ['--', join(base, 'bin/tsrun'), '--root', sb.root, '--runroot', sb.runroot, 'run', '--rm', '--network', 'none', '--rootfs', busybox(), 'echo', 'hi'], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi');
  });
});
