// containerd 1.6 (its own daemon: helpers/containerd.ts) running busybox
// through `ctr run --runc-binary`, first with runc (the reference: every
// case here passes with it) and then with tsrun-oci, with ctr's own
// security options: --seccomp (containerd's default profile), --cap-add,
// --privileged; and a detached task driven by `ctr task` (exec, kill, a
// kill after the exit, delete). The image reaches containerd the way a user
// would move it: `tsrun import` + `tsrun save` (a docker-archive that is
// also an OCI layout), then `ctr images import`.
//
// The shim calls the runtime as: create --bundle B --pid-file P ID, start
// ID, exec --process F --detach --pid-file P ID, kill ID SIG, delete ID,
// with --root R --log B/log.json --log-format json before the verb.
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerdMissing, removeBase, runcWrapper, startContainerd, tsrunOciWrapper, type Containerd, type RuntimeWrapper,
} from '../helpers/containerd.js';
import { cgroupDirs, waitFor } from '../helpers/oci-bundle.js';
import { busybox, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const IMAGE = 'localhost/tsrun-busybox:test';

function skipReason(): string {
  const reason = integrationSkipReason('oci-containerd');
  if (reason) return reason;
  const missing = containerdMissing();
  if (missing) process.stderr.write(`[skip] oci-containerd: ${missing}\n`);
  return missing;
}
const skip = skipReason();

// CapEff of this (root) process: what --privileged can give on this host.
const hostCaps = () => /^CapEff:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
const CAP_SYS_TIME = 25n;

describe.skipIf(skip)('containerd 1.6: ctr run --runc-binary', () => {
  let base = '';
  let cd: Containerd | undefined;
  const ns = `tsrun-ctr-${process.pid}`;
  const wrappers: Record<string, RuntimeWrapper> = {};
  const roots: Record<string, string> = {};
  // Each case's runtime calls with runc, to compare tsrun-oci's with.
  const reference = new Map<string, string[]>();

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'tsrun-ctr-'));
    wrappers.runc = runcWrapper(base);
    wrappers['tsrun-oci'] = tsrunOciWrapper(base);
    for (const name of Object.keys(wrappers)) roots[name] = join(base, `${name}-root`);

    const ts = sandbox();
    try {
      const imported = await ts.tsrun(['import', '-c', 'CMD ["sh"]', '-', IMAGE], {
        input: readFileSync(await tarOf(busybox())),
      });
      expect(imported.stderr).toBe('');
      const saved = await ts.tsrun(['save', '-o', join(base, 'busybox.tar'), IMAGE]);
      expect(saved.stderr).toBe('');
    } finally {
      ts.cleanup();
    }

    cd = await startContainerd(base);
    const im = await cd.ctr(['-n', ns, 'images', 'import', join(base, 'busybox.tar')]);
    expect(im.stderr).toBe('');
    expect(im.exitCode).toBe(0);
    expect((await cd.ctr(['-n', ns, 'images', 'ls', '-q'])).stdout).toBe(IMAGE);
  }, 120_000);

  afterAll(async () => {
    if (cd) {
      // As a user would first: every task and container of our namespace.
      const tasks = (await cd.ctr(['-n', ns, 'tasks', 'ls', '-q'])).stdout;
      for (const id of String(tasks).split('\n').filter(Boolean)) await cd.ctr(['-n', ns, 'tasks', 'delete', '--force', id]);
      const ctrs = (await cd.ctr(['-n', ns, 'containers', 'ls', '-q'])).stdout;
      for (const id of String(ctrs).split('\n').filter(Boolean)) await cd.ctr(['-n', ns, 'containers', 'delete', id]);
      await cd.stop({
        runtimes: [
          { binary: 'runc', root: join(roots.runc, ns) },
          { binary: wrappers['tsrun-oci'].path, root: join(roots['tsrun-oci'], ns) },
        ],
        cgroupParents: [ns],
      });
    }
    // TSRUN_TEST_DEBUG keeps the temp dir (containerd.log, the runtimes' argv, configs and logs).
    if (base && process.env.TSRUN_TEST_DEBUG) process.stderr.write(`[debug] kept ${base}\n`);
    else if (base) removeBase(base);
  }, 60_000);

  async function tarOf(dir: string): Promise<string> {
    const { execa } = await import('execa');
    const file = join(base, 'rootfs.tar');
    await execa('tar', ['-C', dir, '--exclude=./.tsrun-fixture', '-cf', file, '.']);
    return file;
  }

  describe.each(['runc', 'tsrun-oci'])('%s', (runtime) => {
    const run = (flags: string[], id: string, command: string[]) =>
      cd!.ctr(['-n', ns, 'run', '--rm', '--runc-binary', wrappers[runtime].path, '--runc-root', roots[runtime], ...flags, IMAGE, id, ...command]);
    const runtimeErrors = () => wrappers[runtime].errors().map((e) => `${e.id}: ${e.msg}`);
    // The runtime calls one case made, paths and ids made comparable.
    const since = (n: number) =>
      wrappers[runtime].verbs().slice(n).map((c) => c.replace(/\/\S+/g, 'PATH'));
    function sameCallsAsRunc(name: string, calls: string[]) {
      if (runtime === 'runc') reference.set(name, calls);
      else if (reference.has(name)) expect(calls).toEqual(reference.get(name));
    }
    // Once a task is deleted its shim shuts down on its own (shortly).
    const noContainersLeft = async (id: string) => {
      await waitFor(() => cd!.shimPids().length === 0, 5000, 'the shim to exit').catch(() => {});
      expect(cd!.shimPids()).toEqual([]);
      const root = join(roots[runtime], ns);
      expect(existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : []).toEqual([]);
      expect(cgroupDirs(`${ns}/${id}`)).toEqual([]);
      expect(cd!.mounts()).toEqual([]);
      expect(cd!.runtimeFailures()).toEqual([]);
    };

    it('run --rm prints the output and exits with the container\'s code', async () => {
      const n = wrappers[runtime].calls().length;
      const r = await run([], 'plain', ['sh', '-c', 'echo hi; echo oops >&2; exit 7']);
      expect(r.stdout).toBe('hi');
      expect(r.stderr).toBe('oops');
      expect(r.exitCode).toBe(7);
      const calls = since(n);
      expect(calls[0]).toMatch(/^create --bundle PATH --pid-file PATH plain$/);
      sameCallsAsRunc('plain', calls);
      expect(runtimeErrors()).toEqual([]);
      await noContainersLeft('plain');
    }, 60_000);

    it('--seccomp installs containerd\'s default profile: unshare(CLONE_NEWUSER) is refused', async () => {
      const script = 'grep ^Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo unshared || echo refused';
      const without = await run([], 'noseccomp', ['sh', '-c', script]);
      expect(without.stdout).toBe('Seccomp:\t0\nunshared');
      expect(without.exitCode).toBe(0);
      const n = wrappers[runtime].calls().length;
      const r = await run(['--seccomp'], 'seccomp', ['sh', '-c', script]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('Seccomp:\t2\nrefused');
      expect(r.exitCode).toBe(0);
      const sent = wrappers[runtime].configs().seccomp;
      expect(sent.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
      sameCallsAsRunc('seccomp', since(n));
      expect(runtimeErrors()).toEqual([]);
      await noContainersLeft('seccomp');
    }, 60_000);

    it('--cap-add CAP_SYS_TIME adds that capability and nothing else', async () => {
      const caps = 'grep -E "^Cap(Eff|Bnd):" /proc/self/status';
      const plain = await run([], 'caps', ['sh', '-c', caps]);
      const added = await run(['--cap-add', 'CAP_SYS_TIME'], 'capadd', ['sh', '-c', caps]);
      expect(plain.exitCode).toBe(0);
      expect(added.exitCode).toBe(0);
      const parse = (out: string) => Object.fromEntries(String(out).split('\n').map((l) => l.split(':\t')).map(([k, v]) => [k, BigInt(`0x${v}`)]));
      const [p, a] = [parse(String(plain.stdout)), parse(String(added.stdout))];
      expect(a.CapEff ^ p.CapEff).toBe(1n << CAP_SYS_TIME);
      expect(a.CapBnd ^ p.CapBnd).toBe(1n << CAP_SYS_TIME);
      expect(a.CapEff & (1n << CAP_SYS_TIME)).not.toBe(0n);
      expect(runtimeErrors()).toEqual([]);
    }, 60_000);

    it('--privileged: every capability the host has, no filter, host devices, and mount works', async () => {
      const script = [
        'grep -E "^(CapEff|Seccomp):" /proc/self/status',
        'test -c /dev/loop-control && echo host-devices',
        'mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && echo mounted',
      ].join('; ');
      const r = await run(['--privileged'], 'privileged', ['sh', '-c', script]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`CapEff:\t${hostCaps()}\nSeccomp:\t0\nhost-devices\nmounted`);
      expect(r.exitCode).toBe(0);
      expect(runtimeErrors()).toEqual([]);
      await noContainersLeft('privileged');
    }, 60_000);

    it('run -d, task exec, kill, a kill after the exit ("process already finished"), task delete, container rm', async () => {
      const n = wrappers[runtime].calls().length;
      const id = 'sleeper';
      const d = await cd!.ctr(['-n', ns, 'run', '-d', '--runc-binary', wrappers[runtime].path, '--runc-root', roots[runtime], IMAGE, id, 'sleep', '300']);
      expect(d.stderr).toBe('');
      expect(d.exitCode).toBe(0);
      expect((await cd!.ctr(['-n', ns, 'tasks', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+RUNNING$`, 'm'));

      const ex = await cd!.ctr(['-n', ns, 'tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo from-exec; pidof sleep; exit 5']);
      expect(ex.stdout).toBe('from-exec\n1');
      expect(ex.exitCode).toBe(5);

      // busybox sleep as pid 1 has no SIGTERM handler: the signal is dropped.
      expect((await cd!.ctr(['-n', ns, 'tasks', 'kill', id])).exitCode).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await cd!.ctr(['-n', ns, 'tasks', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+RUNNING$`, 'm'));
      expect((await cd!.ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', id])).exitCode).toBe(0);
      await waitFor(async () => /STOPPED/.test(String((await cd!.ctr(['-n', ns, 'tasks', 'ls'])).stdout)), 10_000, 'the task to stop');

      // The shim asks the runtime again; runc's "container not running" is what it takes for "already exited".
      const t = performance.now();
      const again = await cd!.ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', id]);
      expect(again.stderr).toBe('ctr: process already finished: not found');
      expect(again.exitCode).toBe(1);
      expect(performance.now() - t).toBeLessThan(5000);

      const del = await cd!.ctr(['-n', ns, 'tasks', 'delete', id]);
      expect(del.exitCode).toBe(0);
      expect(del.stderr).toMatch(/exit code 137/);
      expect((await cd!.ctr(['-n', ns, 'containers', 'delete', id])).exitCode).toBe(0);
      expect((await cd!.ctr(['-n', ns, 'containers', 'ls', '-q'])).stdout).toBe('');

      const calls = since(n);
      expect(calls.filter((c) => c.startsWith('kill '))).toEqual([`kill ${id} 15`, `kill ${id} 9`, `kill ${id} 9`]);
      sameCallsAsRunc('detached', calls);
      // Only the kill after the exit failed, with runc's words.
      expect(runtimeErrors().filter((l) => !l.includes('container not running'))).toEqual([]);
      await noContainersLeft(id);
    }, 60_000);
  });
});
