// `ps` lists through runtime/container-list.ts without the core bundle (the
// engine, images, volumes): from the installed bundles, only the shell is
// loaded, and what it lists is what inspect says of each container.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, cli, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('ps-listing');

describe.skipIf(skip)('ps from the bundles', () => {
  const sb = sandbox();
  afterAll(async () => {
    await sb.tsrun(['rm', '-f', 'ps-up', 'ps-paused', 'ps-done', 'ps-new']);
    sb.cleanup();
  });

  it('loads no bundle but the shell, and shows each container as inspect does', async () => {
    for (const [name, cmd] of [['ps-up', 'sleep 60'], ['ps-paused', 'sleep 60'], ['ps-done', 'exit 3']]) {
      const r = await sb.tsrun(['run', '-d', '--name', name, '--network', 'none', '--rootfs', busybox(), 'sh', '-c', cmd]);
      expect(r.stderr).toBe('');
    }
    expect((await sb.tsrun(['create', '--name', 'ps-new', '--network', 'none', '--rootfs', busybox(), 'true'])).stderr).toBe('');
    expect((await sb.tsrun(['pause', 'ps-paused'])).stderr).toBe('');
    expect((await sb.tsrun(['wait', 'ps-done'])).stdout).toBe('3');

    // The launcher's loader (bin/launch.cjs) named by every bundle file it loads.
    const log = join(sb.root, '..', 'loads');
    const preload = join(sb.root, '..', 'loads.cjs');
    writeFileSync(preload, `const fs = require('fs'); let load;
Object.defineProperty(globalThis, Symbol.for('tsrun.load'), { configurable: true, get: () => load, set: (f) => { load = (file) => { fs.appendFileSync(${JSON.stringify(log)}, file + '\\n'); return f(file); }; } });\n`);
    writeFileSync(log, '');
    const ps = await execa('node', ['-r', preload, '--', cli, '--root', sb.root, '--runroot', sb.runroot, 'ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}'], { reject: false });
    expect(ps.stderr).toBe('');
    // --format TEMPLATE loads the template chunk, and nothing else.
    expect(readFileSync(log, 'utf8').trim().split('\n').map((f) => f.split('/').pop())).toEqual(['tsrun-template.cjs']);
    const rows = new Map(ps.stdout.split('\n').map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
    expect(rows.get('ps-up')).toMatch(/^running Up /);
    expect(rows.get('ps-paused')).toMatch(/^paused Up .* \(Paused\)$/);
    expect(rows.get('ps-done')).toMatch(/^exited Exited \(3\) /);
    expect(rows.get('ps-new')).toBe('created Created');

    writeFileSync(log, '');
    const table = await execa('node', ['-r', preload, '--', cli, '--root', sb.root, '--runroot', sb.runroot, 'ps'], { reject: false });
    expect(table.stderr).toBe('');
    expect(readFileSync(log, 'utf8')).toBe('');
    expect(table.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/).pop()).sort()).toEqual(['ps-paused', 'ps-up']);

    // Every state agrees with inspect's.
    for (const [name, state] of rows) {
      const i = await sb.tsrun(['inspect', '--format', '{{.State.Status}}', name]);
      expect(state.split(' ')[0]).toBe(i.stdout);
    }
  });
});
