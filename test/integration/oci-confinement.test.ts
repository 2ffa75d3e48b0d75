// What tsrun-oci now takes from a config.json that it used to refuse: OCI
// hooks in all six phases (order, namespaces, the state on stdin, failure
// and timeout rules), linux.sysctl inside the container only, and a
// linux.seccomp filter.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectHostLsm } from '../../src/spec/lsm.js';
import type { OciHook, OciSpec } from '../../src/spec/oci.js';
import { execa } from 'execa';
import { cgroupDirs, ociCli, ociSandbox, type OciSandbox } from '../helpers/oci-bundle.js';
import { busybox, integrationSkipReason } from '../helpers/tsrun.js';

const skip = integrationSkipReason('oci-confinement');

describe.skipIf(skip)('tsrun-oci hooks, sysctls and seccomp', () => {
  let sb: OciSandbox;
  beforeAll(() => {
    sb = ociSandbox();
  });
  afterAll(async () => {
    await sb?.cleanup();
  });

  // A hook that appends "PHASE <its mount ns> <stdin>" to LOG (host path).
  const recorder = (log: string, phase: string): OciHook => ({
    path: '/bin/sh',
    args: ['sh', '-c', `echo "${phase} $(readlink /proc/self/ns/mnt) $(cat)" >> ${log}`],
  });

  async function expectGone(id: string): Promise<void> {
    expect(existsSync(join(sb.root, id))).toBe(false);
    expect(cgroupDirs(`${sb.cgroupParent}/${id}`)).toEqual([]);
  }

  it('runs every phase in order with the state on stdin, each in the namespaces the runtime-spec gives it', async () => {
    const log = join(sb.base, 'hooks.log');
    const bundle = await sb.bundle('hooked', ['sh', '-c', 'cat /tmp/in-container.log'], (s: OciSpec) => {
      s.hooks = {
        prestart: [recorder(log, 'prestart')],
        createRuntime: [recorder(log, 'createRuntime')],
        createContainer: [recorder(log, 'createContainer')],
        // Resolved and run inside the container: its /bin/sh, its /.
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo "startContainer $(cat)" > /tmp/in-container.log'] }],
        poststart: [recorder(log, 'poststart')],
        poststop: [recorder(log, 'poststop')],
      };
      // A private /tmp: the busybox rootfs is shared by every test.
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
    });
    const hostMnt = readlinkSync('/proc/self/ns/mnt');
    const created = await sb.ociDetached(['create', '--bundle', bundle, 'hooked']);
    expect(created.exitCode, created.stderr).toBe(0);
    const start = await sb.ociDetached(['start', 'hooked']);
    expect(start.exitCode, start.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect((await sb.oci(['delete', '--force', 'hooked'])).exitCode).toBe(0);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => {
      const [phase, ns, ...json] = l.split(' ');
      return { phase, ns, state: JSON.parse(json.join(' ')) as Record<string, unknown> };
    });
    expect(lines.map((l) => l.phase)).toEqual(['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']);
    const pid = lines[0].state.pid as number;
    expect(pid).toBeGreaterThan(1);
    for (const l of lines) expect(l.state).toMatchObject({ id: 'hooked', bundle, pid, ociVersion: expect.any(String) });
    expect(lines.map((l) => l.state.status)).toEqual(['creating', 'creating', 'creating', 'running', 'stopped']);
    // createRuntime runs in the runtime's namespaces, createContainer in the container's.
    expect(lines[1].ns).toBe(hostMnt);
    expect(lines[2].ns).not.toBe(hostMnt);
    // startContainer ran in the container (its /tmp), just before its command.
    const inside = readFileSync(created.files[0], 'utf8');
    expect(inside).toMatch(/^startContainer \{/);
    expect(JSON.parse(inside.slice('startContainer '.length))).toMatchObject({ id: 'hooked', pid, status: 'created' });
  });

  it('a failing createRuntime hook fails create with its exit status and leaves nothing', async () => {
    const bundle = await sb.bundle('badhook', ['true'], (s) => {
      s.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] };
    });
    const r = await sb.ociDetached(['create', '--bundle', bundle, 'badhook']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/error running createRuntime hook: \/bin\/sh: exit status 3/);
    await expectGone('badhook');
  });

  it('a hook that outlives its timeout is killed and fails create', async () => {
    const bundle = await sb.bundle('slowhook', ['true'], (s) => {
      s.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 30'], timeout: 1 }] };
    });
    const t0 = Date.now();
    const r = await sb.ociDetached(['create', '--bundle', bundle, 'slowhook']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/createContainer hook: \/bin\/sh: timed out after 1s/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expectGone('slowhook');
  });

  it('a hook path that does not exist fails create naming it', async () => {
    const bundle = await sb.bundle('nohook', ['true'], (s) => {
      s.hooks = { prestart: [{ path: '/nonexistent/hook' }] };
    });
    const r = await sb.ociDetached(['create', '--bundle', bundle, 'nohook']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/createRuntime hook: \/nonexistent\/hook: .*no such file or directory/i);
    await expectGone('nohook');
  });

  it('a failing poststart or poststop hook is a warning: the lifecycle goes on', async () => {
    const bundle = await sb.bundle('warnhook', ['sleep', '30'], (s) => {
      s.hooks = {
        poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }],
      };
    });
    expect((await sb.ociDetached(['create', '--bundle', bundle, 'warnhook'])).exitCode).toBe(0);
    const start = await sb.ociDetached(['start', 'warnhook']);
    expect(start.exitCode).toBe(0);
    expect(start.stderr).toMatch(/poststart hook failed: \/bin\/sh: exit status 4/);
    expect(JSON.parse(String((await sb.oci(['state', 'warnhook'])).stdout)).status).toBe('running');
    const del = await sb.oci(['delete', '--force', 'warnhook']);
    expect(del.exitCode).toBe(0);
    expect(String(del.stderr)).toMatch(/poststop hook failed: \/bin\/sh: exit status 5/);
    await expectGone('warnhook');
  });

  it('linux.sysctl changes the container only', async () => {
    const host = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const want = host === '1' ? '0' : '1';
    const bundle = await sb.bundle('sysctl', ['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'], (s) => {
      s.linux!.sysctl = { 'net.ipv4.ip_forward': want, 'kernel.shmmni': '1234' };
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'sysctl']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n')).toEqual([want, '1234']);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(host);
  });

  it('a sysctl outside the container namespaces is refused before anything is made', async () => {
    const bundle = await sb.bundle('badsysctl', ['true'], (s) => {
      s.linux!.sysctl = { 'kernel.panic': '1' };
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'badsysctl']);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/sysctl \\?"kernel.panic\\?" is not in a separate kernel namespace/);
    await expectGone('badsysctl');
  });

  // runc allows a container without a mount namespace of its own (the
  // runtime-tools suite checks it): its mounts are made in the host's
  // table, where tsrun-oci, unlike runc, removes them at delete.
  it('no mount namespace: the container shares ours, is chrooted, and delete takes its mounts away', async () => {
    const rootfs = join(sb.base, 'private-rootfs');
    execFileSync('cp', ['-a', busybox(), rootfs]);
    const bundle = await sb.bundle('hostmnt', ['sleep', '30'], (s) => {
      s.root.path = rootfs;
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
    });
    const mountsUnder = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(rootfs));
    expect(mountsUnder()).toEqual([]);
    const run = await sb.ociDetached(['run', '-d', '--bundle', bundle, 'hostmnt']);
    expect(run.exitCode, run.stderr).toBe(0);
    const pid = JSON.parse(String((await sb.oci(['state', 'hostmnt'])).stdout)).pid as number;
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(readlinkSync('/proc/self/ns/mnt'));
    expect(readlinkSync(`/proc/${pid}/root`)).toBe(rootfs);
    expect(mountsUnder().length).toBeGreaterThan(3); // the rootfs, /proc, /dev, /sys, ...
    const ex = await sb.oci(['exec', 'hostmnt', 'sh', '-c', 'ls /bin/busybox && readlink /proc/1/root']);
    expect(String(ex.stdout).split('\n')).toEqual(['/bin/busybox', '/']);
    expect((await sb.oci(['delete', '--force', 'hostmnt'])).exitCode).toBe(0);
    expect(mountsUnder()).toEqual([]);
    await expectGone('hostmnt');
  });

  it('a mount namespace joined by path is set up in that namespace, not ours', async () => {
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const nsPath = `/proc/${holder.pid}/ns/mnt`;
      const bundle = await sb.bundle('joinmnt', ['sh', '-c', 'ls /bin/busybox'], (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'mount' ? { type: 'mount', path: nsPath } : n));
      });
      // Our namespace's mounts of this container (its rootfs, its bundle):
      // other tests mount and unmount their own meanwhile.
      const ours = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(bundle) || l.includes(busybox()));
      const before = ours();
      const r = await sb.oci(['run', '--bundle', bundle, 'joinmnt']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toBe('/bin/busybox');
      expect(ours()).toEqual(before);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('--preserve-fds N passes fds 3 .. 3+N-1 into the container, and no other', async () => {
    const out = join(sb.base, 'fd3.txt');
    const fd = openSync(out, 'w');
    try {
      const bundle = await sb.bundle('keepfds', ['sh', '-c', 'echo via-fd3 >&3; ls /proc/self/fd | sort -n | tr "\\n" " "'], (s) => {
        s.process.noNewPrivileges = true;
      });
      const r = await execa(process.execPath, ['--', ociCli, '--root', sb.root, 'run', '--preserve-fds', '1', '--bundle', bundle, 'keepfds'], { reject: false, stdio: ['ignore', 'pipe', 'pipe', fd] });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      // 0-2, the kept 3, and the fd ls opened for the listing.
      expect(String(r.stdout).trim()).toBe('0 1 2 3 4');
      expect(readFileSync(out, 'utf8')).toBe('via-fd3\n');
      const bad = await sb.oci(['run', '--preserve-fds', 'x', '--bundle', bundle, 'keepfds2']);
      expect(String(bad.stderr)).toMatch(/invalid --preserve-fds \\?"x\\?"/);
    } finally {
      closeSync(fd);
    }
  });

  it.skipIf(detectHostLsm().apparmor)('process.apparmorProfile on a host without AppArmor fails create in one line and leaves nothing', async () => {
    const bundle = await sb.bundle('aa', ['true'], (s) => {
      s.process.apparmorProfile = 'containers-default-0.50.0';
    });
    const r = await sb.ociDetached(['create', '--bundle', bundle, 'aa']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/apparmorProfile \\?"containers-default-0.50.0\\?" is set but AppArmor is not enabled on this host/);
    await expectGone('aa');
  });

  it("a created container holds none of the runtime's fds while it waits for start, even when its profile refuses close_range", async () => {
    const bundle = await sb.bundle('waiting', ['true'], (s) => {
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
    });
    const created = await sb.ociDetached(['create', '--bundle', bundle, 'waiting']);
    expect(created.exitCode, created.stderr).toBe(0);
    const pid = JSON.parse(String((await sb.oci(['state', 'waiting'])).stdout)).pid as number;
    // stdio, the set-up socket and the exec fifo: nothing of Node's (its
    // lock files would block delete).
    expect(readdirSync(`/proc/${pid}/fd`).length).toBeLessThanOrEqual(5);
    const t0 = Date.now();
    expect((await sb.oci(['delete', '--force', 'waiting'])).exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expectGone('waiting');
  });

  it('linux.seccomp from the bundle is applied (the process and an exec)', async () => {
    const bundle = await sb.bundle('filtered', ['sleep', '30'], (s) => {
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
      s.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      };
    });
    expect((await sb.ociDetached(['run', '-d', '--bundle', bundle, 'filtered'])).exitCode).toBe(0);
    const r = await sb.oci(['exec', 'filtered', 'sh', '-c', 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/seccomp-x 2>&1; echo rc=$?']);
    expect(String(r.stdout)).toMatch(/Seccomp:\s+2/);
    expect(String(r.stdout)).toMatch(/Operation not permitted[\s\S]*rc=1/);
    const pid = JSON.parse(String((await sb.oci(['state', 'filtered'])).stdout)).pid as number;
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/Seccomp:\s+2/);
    await sb.oci(['delete', '--force', 'filtered']);
  });
});
