// What Node loads besides its start-up snapshot for the short verbs, from
// the installed bundles: each built-in module not in the snapshot costs
// ~0.3-2.5 ms of every run (node:module brings Node's ES module loader,
// node:fs/promises readline and watchers, node:net and node:crypto the
// stream modules). The verbs below need none of them: the bundler makes the
// core's imports of them load on first use, and the shell imports none.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, cli, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('startup-modules');

describe.skipIf(skip)('built-in modules a short verb loads', () => {
  const sb = sandbox();
  afterAll(async () => {
    await sb.tsrun(['rm', '-f', 'mods']);
    sb.cleanup();
  });

  it('--version, --help, a parse error, ps, inspect, logs and rm load none beyond vm and process (stop only what it uses), and no addon but the files one', async () => {
    expect((await sb.tsrun(['run', '-d', '--name', 'mods', '--network', 'none', '--rootfs', busybox(), 'sleep', '60'])).stderr).toBe('');
    const log = join(sb.root, '..', 'modules');
    const preload = join(sb.root, '..', 'modules.cjs');
    // Written at exit with a plain write (process.stderr would load streams itself).
    // And the addons it loads: tsrun.node's libraries cost ~2 ms, and these verbs need only the files addon.
    writeFileSync(preload, `const before = new Set(process.moduleLoadList); const addons = [];
const dlopen = process.dlopen; process.dlopen = function (m, file, ...rest) { addons.push('addon ' + require('path').basename(file)); return dlopen.call(this, m, file, ...rest); };
process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(log)}, process.moduleLoadList.filter((m) => !before.has(m)).concat(addons).join('\\n')));\n`);
    for (const args of [['--version'], ['--help'], ['run', '--no-such-flag'], ['ps', '-a'], ['inspect', 'mods'], ['logs', 'mods'], ['rm', 'mods-gone'], ['stop', '-t', '0', 'mods']]) {
      // The first run of a verb writes its code cache; the second is the one users see.
      for (let i = 0; i < 2; i++) {
        if (args[0] === 'stop') expect((await sb.tsrun(['start', 'mods'])).stderr).toBe('');
        if (args[0] === 'rm') expect((await sb.tsrun(['create', '--name', 'mods-gone', '--network', 'none', '--rootfs', busybox(), 'true'])).stderr).toBe('');
        const r = await execa('node', ['-r', preload, '--', cli, '--root', sb.root, '--runroot', sb.runroot, ...args], { reject: false });
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(args[1] === '--no-such-flag' ? 125 : 0);
      }
      const loaded = readFileSync(log, 'utf8').split('\n');
      // stop parses its signal (node:os has the numbers) and waits (node:timers/promises): both loaded when used.
      const needed = args[0] === 'stop' ? ['NativeModule os', 'NativeModule timers/promises'] : [];
      expect(loaded.filter((m) => m.startsWith('NativeModule ')).sort(), args.join(' ')).toEqual(['NativeModule process', 'NativeModule vm', ...needed].sort());
      expect(loaded.filter((m) => m.startsWith('addon ')), args.join(' ')).toEqual(['addon tsrun-files.node']);
    }
  });
});
