// Docker's confinement flags of `run`, checked the way a Docker user would:
// from inside the container (/proc/self/status, ulimit, df, id, readlink of
// namespaces) and against the host. Bad values fail in one line with 125
// and leave nothing behind.
// The commands avoid shell pipelines on purpose: each check reads one file
// or runs one tool, so a failure names the flag, not the plumbing. The
// rootfs is the shared fixture directory (no overlay): scratch files go to
// the container's own /dev tmpfs, never into the fixture.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../src/native/constants.js';
import { DEFAULT_CAPABILITIES } from '../../src/spec/defaults.js';
import { busybox, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('confinement-flags');

/** A /proc/PID/status capability mask for these names. */
function capMask(names: readonly string[]): string {
  let bits = 0n;
  for (const n of names) bits |= 1n << BigInt((CAPABILITIES as readonly string[]).indexOf(n));
  return bits.toString(16).padStart(16, '0');
}

function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes(':')).map((l) => l.split(/:\s+/) as [string, string]));
}

describe.skipIf(skip)('confinement flags', () => {
  const sb = sandbox();
  const scratch = mkdtempSync(join(tmpdir(), 'tsrun-confine-'));
  afterAll(() => {
    sb.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  const status = async (args: string[]) => {
    const r = await sb.run([...args, 'grep', '-E', '^(Cap|NoNewPrivs|Seccomp:)', '/proc/self/status']);
    expect(r.stderr).toBe('');
    return statusFields(r.stdout);
  };

  it('--cap-add SYS_TIME sets exactly that extra bit, in effective, permitted and bounding', async () => {
    const f = await status(['--cap-add', 'sys_time']);
    const want = capMask([...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME']);
    expect(f).toMatchObject({ CapEff: want, CapPrm: want, CapBnd: want, CapInh: '0000000000000000', CapAmb: '0000000000000000' });
  });

  it('--cap-drop ALL leaves none; --cap-drop ALL --cap-add X leaves X', async () => {
    expect(await status(['--cap-drop', 'ALL'])).toMatchObject({ CapEff: '0000000000000000', CapPrm: '0000000000000000', CapBnd: '0000000000000000' });
    expect((await status(['--cap-drop', 'ALL', '--cap-add', 'CAP_KILL'])).CapBnd).toBe(capMask(['CAP_KILL']));
  });

  it('--cap-drop CHOWN takes the power away', async () => {
    const r = await sb.run(['--cap-drop', 'CHOWN', 'sh', '-c', 'touch /dev/f; chown 1000 /dev/f 2>&1 || echo refused']);
    expect(r.stdout).toMatch(/refused$/);
  });

  it("a non-root user gets --cap-add in the bounding set only (Docker's rule)", async () => {
    const f = await status(['-u', 'tsuser', '--cap-add', 'NET_ADMIN']);
    expect(f).toMatchObject({ CapEff: '0000000000000000', CapPrm: '0000000000000000', CapAmb: '0000000000000000' });
    expect(f.CapBnd).toBe(capMask([...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']));
  });

  it('--security-opt no-new-privileges=false turns no_new_privs off (on by default)', async () => {
    expect((await status([])).NoNewPrivs).toBe('1');
    expect((await status(['--security-opt', 'no-new-privileges=false'])).NoNewPrivs).toBe('0');
    expect((await status(['--security-opt', 'no-new-privileges:false'])).NoNewPrivs).toBe('0');
  });

  it('--security-opt seccomp=unconfined runs without a filter; the default has one', async () => {
    expect((await status([])).Seccomp).toBe('2');
    expect((await status(['--security-opt', 'seccomp=unconfined'])).Seccomp).toBe('0');
  });

  it('--privileged: every capability, a tmpfs mount, host devices, writable /sys and /proc/sys, no filter', async () => {
    const hostCaps = statusFields(readFileSync('/proc/self/status', 'utf8')).CapEff;
    const f = await status(['--privileged']);
    expect(f).toMatchObject({ CapEff: hostCaps, CapBnd: hostCaps, Seccomp: '0' });
    const r = await sb.run(['--privileged', 'sh', '-c',
      'mount -t tmpfs none /tmp && echo mounted; echo x > /proc/sys/kernel/domainname && echo sysctl-writable; ' +
      'grep -c " /sys rw," /proc/self/mountinfo; ls /dev']);
    const [mounted, writable, sysRw, ...devs] = r.stdout.split('\n');
    expect([mounted, writable, sysRw]).toEqual(['mounted', 'sysctl-writable', '1']);
    // Every character and block device at the top of the host's /dev (but its console and ptmx).
    const hostDevs = readdirSync('/dev').filter((n) => {
      if (n === 'console' || n === 'ptmx') return false;
      try {
        const st = statSync(join('/dev', n));
        return st.isCharacterDevice() || st.isBlockDevice();
      } catch {
        return false;
      }
    });
    expect(hostDevs.length).toBeGreaterThan(6);
    for (const d of hostDevs) expect(devs).toContain(d);
  });

  it.skipIf(!existsSync('/dev/loop-control'))('--device /dev/loop-control opens, while other block devices stay denied by the device cgroup', async () => {
    const r = await sb.run(['--device', '/dev/loop-control', 'sh', '-c',
      'exec 3</dev/loop-control && echo opened; mknod /dev/loop0 b 7 0 && echo made; exec 4</dev/loop0 && echo opened-loop0']);
    expect(r.stdout).toBe('opened\nmade');
    expect(r.stderr).toMatch(/Operation not permitted/);
    // Without the flag, the same node is denied too.
    const d = await sb.run(['sh', '-c', 'mknod /dev/lc c 10 237 && echo made; exec 3</dev/lc && echo opened']);
    expect(d.stdout).toBe('made');
  });

  it('--device-cgroup-rule allows what it names', async () => {
    const r = await sb.run(['--device-cgroup-rule', 'b 7:* rwm', 'sh', '-c', 'mknod /dev/loop0 b 7 0; exec 4</dev/loop0 && echo opened']);
    expect(r.stdout).toBe('opened');
  });

  it('--sysctl changes the container only', async () => {
    const host = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    for (const value of ['1', '0']) {
      const r = await sb.run(['--sysctl', `net.ipv4.ip_forward=${value}`, 'cat', '/proc/sys/net/ipv4/ip_forward']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(value);
    }
    const hostShm = readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim();
    const s = await sb.run(['--sysctl', 'kernel.shmmax=123456', 'cat', '/proc/sys/kernel/shmmax']);
    expect(s.stdout).toBe('123456');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(host);
    expect(readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim()).toBe(hostShm);
  });

  it('--ulimit nofile=100:200', async () => {
    const r = await sb.run(['--ulimit', 'nofile=100:200', 'sh', '-c', 'ulimit -n; ulimit -Hn']);
    expect(r.stdout).toBe('100\n200');
  });

  it('--shm-size 1m sizes /dev/shm', async () => {
    const r = await sb.run(['--shm-size', '1m', 'df', '-k', '/dev/shm']);
    expect(r.stdout.split('\n')[1]).toMatch(/^shm\s+1024\s/);
    const d = await sb.run(['df', '-k', '/dev/shm']);
    expect(d.stdout.split('\n')[1]).toMatch(/^shm\s+65536\s/);
  });

  it('--group-add adds groups by name (from the image) and by id', async () => {
    const r = await sb.run(['-u', 'tsuser', '--group-add', 'nogroup', '--group-add', '4242', 'id', '-G']);
    expect(r.stdout.split(' ').map(Number).sort((a, b) => a - b)).toEqual([10, 1000, 1100, 4242, 65534]);
  });

  it('--oom-score-adj 500', async () => {
    const r = await sb.run(['--oom-score-adj', '500', 'cat', '/proc/self/oom_score_adj']);
    expect(r.stdout).toBe('500');
  });

  it("--pid host sees the host's processes", async () => {
    const r = await sb.run(['--pid', 'host', 'sh', '-c', 'cat /proc/1/comm; test -d /proc/' + process.pid + ' && echo sees-runner']);
    expect(r.stdout).toBe(`${readFileSync('/proc/1/comm', 'utf8').trim()}\nsees-runner`);
  });

  it("--ipc host, --uts host and --cgroupns host share the host's namespaces", async () => {
    const r = await sb.run(['--ipc', 'host', '--uts', 'host', '--cgroupns', 'host', 'sh', '-c',
      'readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; readlink /proc/self/ns/cgroup; hostname; cat /etc/hostname']);
    expect(r.stdout.split('\n')).toEqual([
      readlinkSync('/proc/self/ns/ipc'), readlinkSync('/proc/self/ns/uts'), readlinkSync('/proc/self/ns/cgroup'), hostname(), hostname(),
    ]);
    const own = await sb.run(['readlink', '/proc/self/ns/ipc']);
    expect(own.stdout).not.toBe(readlinkSync('/proc/self/ns/ipc'));
  });

  it('--ipc none has no /dev/shm', async () => {
    const r = await sb.run(['--ipc', 'none', 'sh', '-c', 'test -e /dev/shm || echo none']);
    expect(r.stdout).toBe('none');
  });

  it('--ipc container:NAME joins a shareable container, and only a shareable one', async () => {
    const d = await sb.tsrun(['run', '-d', '--name', 'ipc-donor', '--ipc', 'shareable', '--rootfs', busybox(), 'sleep', '60']);
    const p = await sb.tsrun(['run', '-d', '--name', 'ipc-private', '--rootfs', busybox(), 'sleep', '60']);
    expect([d.exitCode, p.exitCode]).toEqual([0, 0]);
    try {
      const donor = await sb.tsrun(['exec', 'ipc-donor', 'readlink', '/proc/self/ns/ipc']);
      const joined = await sb.run(['--ipc', 'container:ipc-donor', 'readlink', '/proc/self/ns/ipc']);
      expect(joined.stdout).toBe(donor.stdout);
      const refused = await sb.run(['--ipc', 'container:ipc-private', 'true']);
      expect(refused.exitCode).toBe(125);
      expect(refused.stderr).toBe('tsrun: cannot join the IPC namespace of container ipc-private: non-shareable IPC (hint: run that container with --ipc shareable)');
      const doc = JSON.parse((await sb.tsrun(['inspect', 'ipc-donor'])).stdout)[0];
      expect(doc.HostConfig.IpcMode).toBe('shareable');
    } finally {
      await sb.tsrun(['rm', '-f', 'ipc-donor', 'ipc-private']);
    }
  });

  // The container is born in the joined PID namespace as its monitor's
  // child, so its exit code and output are its own (also detached, below).
  it('--pid container:NAME sees that container\'s processes, and keeps its own exit code and output', async () => {
    const d = await sb.tsrun(['run', '-d', '--name', 'pid-donor', '--rootfs', busybox(), 'sleep', '60']);
    expect(d.exitCode).toBe(0);
    try {
      const r = await sb.run(['--pid', 'container:pid-donor', 'sh', '-c', 'sleep 0.2; cat /proc/1/cmdline; echo; echo done; exit 3']);
      expect(r.stdout).toBe('sleep\u000060\u0000\ndone');
      expect(r.exitCode).toBe(3);
      const bg = await sb.tsrun(['run', '-d', '--pid', 'container:pid-donor', '--rootfs', busybox(), 'sh', '-c', 'sleep 0.3; echo later; exit 4']);
      const id = String(bg.stdout).trim();
      expect(String((await sb.tsrun(['wait', id])).stdout).trim()).toBe('4');
      expect(String((await sb.tsrun(['logs', id])).stdout)).toBe('later');
      await sb.tsrun(['rm', id]);
    } finally {
      await sb.tsrun(['rm', '-f', 'pid-donor']);
    }
  });

  it("inspect shows the flags in Docker's HostConfig shape", async () => {
    const c = await sb.tsrun(['create', '--name', 'shown', '--cap-add', 'SYS_TIME', '--cap-drop', 'chown', '--security-opt', 'seccomp=unconfined',
      '--device', '/dev/null:/dev/xnull:r', '--device-cgroup-rule', 'c 1:5 rwm', '--ulimit', 'nofile=100:200', '--shm-size', '2m',
      '--sysctl', 'net.ipv4.ip_forward=1', '--group-add', '4242', '--oom-score-adj', '10', '--cgroupns', 'host', '--ipc', 'shareable',
      '--pid', 'host', '--uts', 'host', '--rootfs', busybox(), 'true']);
    expect(c.exitCode).toBe(0);
    const h = JSON.parse((await sb.tsrun(['inspect', 'shown'])).stdout)[0].HostConfig;
    expect(h).toMatchObject({
      Privileged: false, CapAdd: ['SYS_TIME'], CapDrop: ['chown'], SecurityOpt: ['seccomp=unconfined'],
      Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'r' }], DeviceCgroupRules: ['c 1:5 rwm'],
      Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }], ShmSize: 2097152, Sysctls: { 'net.ipv4.ip_forward': '1' }, GroupAdd: ['4242'],
      OomScoreAdj: 10, CgroupnsMode: 'host', IpcMode: 'shareable', PidMode: 'host', UTSMode: 'host',
    });
    await sb.tsrun(['rm', 'shown']);
    const p = await sb.tsrun(['create', '--name', 'privileged', '--privileged', '--rootfs', busybox(), 'true']);
    expect(p.exitCode).toBe(0);
    const hp = JSON.parse((await sb.tsrun(['inspect', 'privileged'])).stdout)[0].HostConfig;
    expect(hp).toMatchObject({ Privileged: true, CapAdd: null, IpcMode: 'private', PidMode: '', MaskedPaths: [], ReadonlyPaths: [] });
    await sb.tsrun(['rm', 'privileged']);
  });

  describe('bad input: one line, exit 125, nothing created', () => {
    const left = (dir: string) => {
      try {
        return readdirSync(dir).filter((n) => !n.startsWith('.'));
      } catch {
        return [];
      }
    };
    const ourMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(sb.root) || l.includes(sb.runroot)).join('\n');

    async function refused(flags: string[], message: RegExp): Promise<void> {
      const mounts = ourMounts();
      const r = await sb.tsrun(['run', '--rm', ...flags, '--rootfs', busybox(), 'true']);
      expect(r.exitCode).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(left(join(sb.root, 'containers'))).toEqual([]);
      expect(left(join(sb.runroot, 'containers'))).toEqual([]);
      expect(ourMounts()).toBe(mounts);
      expect((await sb.tsrun(['ps', '-aq'])).stdout).toBe('');
    }

    it('an unknown capability', async () => {
      await refused(['--cap-add', 'FLY'], /^tsrun: invalid argument "FLY" for "--cap-add" flag: unknown capability: "CAP_FLY"$/);
      await refused(['--cap-drop', 'nope'], /unknown capability: "CAP_NOPE"/);
    });

    it('a missing device, a bad device rule', async () => {
      await refused(['--device', '/dev/no-such-device'], /^tsrun: error gathering device information while adding custom device "\/dev\/no-such-device": no such file or directory$/);
      await refused(['--device', '/dev/null:relative'], /is not an absolute path/);
      await refused(['--device-cgroup-rule', 'q 1:2 r'], /invalid device cgroup rule format/);
    });

    it('a sysctl that is not namespaced, or in a namespace that is the host\'s', async () => {
      await refused(['--sysctl', 'kernel.panic=1'], /^tsrun: invalid argument "kernel.panic=1" for "--sysctl" flag: sysctl 'kernel.panic=1' is not allowed/);
      await refused(['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1'], /not allowed in the host's network namespace/);
    });

    it('a bad ulimit, oom score, shm size or namespace mode', async () => {
      await refused(['--ulimit', 'nofile=300:200'], /soft limit must be less than or equal to hard limit/);
      await refused(['--ulimit', 'nofiles=1'], /invalid ulimit type: nofiles/);
      await refused(['--oom-score-adj', '2000'], /\[-1000, 1000\]/);
      await refused(['--shm-size', 'big'], /--shm-size/);
      await refused(['--ipc', 'sideways'], /--ipc: invalid IPC mode/);
      await refused(['--pid', 'container:nobody-here'], /No such container: nobody-here/);
      await refused(['--uts', 'host', '--hostname', 'x'], /conflicting options: --hostname and --uts host/);
    });

    it('an unknown security option, an LSM the host lacks, an invalid seccomp profile', async () => {
      await refused(['--security-opt', 'foo=bar'], /^tsrun: invalid --security-opt "foo=bar": unknown option "foo"/);
      await refused(['--security-opt', 'no-new-privileges=maybe'], /true or false/);
      if (!existsSync('/sys/kernel/security/apparmor')) await refused(['--security-opt', 'apparmor=docker-default'], /AppArmor is not enabled on this host/);
      if (!existsSync('/sys/fs/selinux/enforce')) await refused(['--security-opt', 'label=type:svirt_t'], /SELinux is not enabled on this host/);
      const bad = join(scratch, 'bad-profile.json');
      writeFileSync(bad, '{"defaultAction": ');
      await refused(['--security-opt', `seccomp=${bad}`], /bad-profile\.json/);
      await refused(['--security-opt', `seccomp=${join(scratch, 'missing.json')}`], /missing\.json/);
    });

    it('apparmor=unconfined and label=disable ask for nothing and are accepted', async () => {
      const r = await sb.run(['--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable', 'true']);
      expect(r.exitCode).toBe(0);
    });
  });
});
