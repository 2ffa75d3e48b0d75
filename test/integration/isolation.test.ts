// What a container can see of the host: processes, hostname, mounts,
// network, capabilities, masked and read-only paths, fds.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('isolation');
const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

describe.skipIf(skip)('isolation', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  it('runs the command as PID 1 and hides host processes', async () => {
    const r = await sb.run(['sh', '-c', 'echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "']);
    expect(r.exitCode).toBe(0);
    const [pid, procs] = r.stdout.split('\n');
    expect(pid).toBe('1');
    // Only the shell and its pipeline; the host has far more (this test runner, for one).
    const pids = procs.trim().split(' ').map(Number);
    expect(pids[0]).toBe(1);
    expect(pids.length).toBeLessThan(6);
    expect(pids).not.toContain(process.pid);
  });

  it('isolates the hostname', async () => {
    const host = hostname();
    const r = await sb.run(['--hostname', 'inside', 'hostname']);
    expect(r.stdout).toBe('inside');
    expect(hostname()).toBe(host);
  });

  it('defaults the hostname to the short container id', async () => {
    const r = await sb.run(['hostname']);
    expect(r.stdout).toMatch(/^[0-9a-f]{12}$/);
  });

  it("keeps the container's mounts away from the host, while it runs and after", async () => {
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const c = sb.run(['sh', '-c', 'grep -c " /proc " /proc/self/mountinfo; sleep 1']);
    await new Promise((r) => setTimeout(r, 500));
    const during = readFileSync('/proc/self/mountinfo', 'utf8');
    const r = await c;
    expect(r.stdout).toBe('1');
    // Other test files (Podman's storage, cgroup tests) may mount on the host
    // meanwhile; none of the container's mounts may be among what appeared:
    // nothing under its rootfs, and none of the kinds a container mounts.
    const leaked = (now: string) => {
      const seen = new Set(before.split('\n'));
      return now.split('\n').filter((l) => !seen.has(l) && (l.includes(busybox()) || / - (proc|sysfs|devpts|mqueue|cgroup2?) /.test(l)));
    };
    expect(leaked(during)).toEqual([]);
    expect(during).not.toContain(busybox());
    expect(leaked(readFileSync('/proc/self/mountinfo', 'utf8'))).toEqual([]);
  });

  it('has its own network namespace: with --network none only lo, up; by default lo and its eth0, none of the host\'s', async () => {
    const r = await sb.run(['--network', 'none', 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W1 127.0.0.1 >/dev/null && echo pong']);
    expect(r.stdout.split('\n')).toEqual(['lo', 'unknown', 'pong']);
    const d = await sb.run(['sh', '-c', 'ls /sys/class/net']);
    expect(d.stdout.split('\n')).toEqual(['eth0', 'lo']);
  });

  it('cannot reach the old root', async () => {
    const r = await sb.run(['sh', '-c', 'ls -a /; cat /proc/self/mountinfo | wc -l']);
    const [lines] = r.stdout.split('\n').slice(-1);
    expect(Number(lines)).toBeLessThan(30);
    expect(r.stdout).toContain('.tsrun-fixture');
    // Host-only paths do not exist inside.
    const r2 = await sb.run(['sh', '-c', `test -e ${process.cwd()} && echo visible || echo hidden`]);
    expect(r2.stdout).toBe('hidden');
  });

  it("gives root Docker's default capability set and no_new_privs", async () => {
    const r = await sb.run(['grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status']);
    const f = Object.fromEntries(r.stdout.split('\n').map((l) => l.split(/:\s+/)));
    expect(f).toEqual({
      CapInh: '0000000000000000',
      CapPrm: DOCKER_DEFAULT_CAPS,
      CapEff: DOCKER_DEFAULT_CAPS,
      CapBnd: DOCKER_DEFAULT_CAPS,
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
    });
  });

  it('gives a non-root user no effective capabilities but the same bounding set', async () => {
    const r = await sb.run(['-u', 'tsuser', 'grep', '-E', '^Cap(Eff|Bnd)', '/proc/self/status']);
    expect(r.stdout).toBe(`CapEff:\t0000000000000000\nCapBnd:\t${DOCKER_DEFAULT_CAPS}`);
  });

  it('denies what the dropped capabilities guard', async () => {
    const r = await sb.run(['sh', '-c', 'mount -t tmpfs x /mnt 2>/dev/null; hostname x 2>&1; ip link add d0 type dummy 2>&1 || echo denied']);
    // CAP_SYS_ADMIN is not in the set: mount and sethostname fail.
    expect(r.stdout).toMatch(/Operation not permitted|denied/);
    const m = await sb.run(['sh', '-c', 'mount -t tmpfs x /mnt && echo mounted']);
    expect(m.stdout).not.toContain('mounted');
  });

  it('masks sensitive /proc and /sys paths', async () => {
    const r = await sb.run(['sh', '-c', 'for f in /proc/keys /proc/timer_list /proc/sched_debug /proc/kcore; do [ -e $f ] && printf "%s:%s\\n" $f $(cat $f 2>/dev/null | wc -c); done; ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null || echo ro']);
    for (const line of r.stdout.split('\n').filter((l) => l.startsWith('/'))) expect(line).toMatch(/:0$/);
    expect(r.stdout).toContain('/proc/keys:0');
    expect(r.stdout.split('\n').slice(-2)).toEqual(['0', 'ro']);
  });

  it('makes /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus and /sys read-only', async () => {
    const r = await sb.run(['sh', '-c', 'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo wrote || echo refused; grep -E " /proc/(sys|irq|bus|fs) " /proc/self/mountinfo | grep -c " ro,"; grep " /sys " /proc/self/mountinfo | grep -c " ro,"; grep -c " /sys " /proc/self/mountinfo']);
    // Both /sys and /proc/sys match " /sys "; every match must be read-only.
    expect(r.stdout.split('\n')).toEqual(['refused', '4', '2', '2']);
  });

  it('closes every inherited fd above 2', async () => {
    // Give tsrun extra fds (3 and 4); the container must not see them.
    // A builtin glob, so no pipe or child is open meanwhile: the shell's
    // fds are 0-2 plus the one opendir uses for the listing itself (3 when
    // nothing leaked; 5, with 3 and 4 listed, if tsrun's extra fds had).
    const r = await sb.run(['sh', '-c', 'cd /proc/self/fd && echo *'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    expect(r.stdout.trim()).toBe('0 1 2 3');
  });

  it('creates the standard devices and nothing else in /dev', async () => {
    const r = await sb.run(['sh', '-c', 'ls /dev | tr "\\n" " "; echo; for d in null zero full random urandom tty; do [ -c /dev/$d ] || echo missing $d; done; echo x > /dev/full 2>/dev/null || echo full-refused; head -c 4 /dev/zero | wc -c']);
    expect(r.stdout.split('\n')[0].trim().split(' ').sort()).toEqual(
      ['core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].sort(),
    );
    expect(r.stdout).not.toContain('missing');
    expect(r.stdout).toContain('full-refused');
  });

  it('with --init, PID 1 shows neither the host command line nor the host binary', async () => {
    const r = await sb.run(['--init', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; readlink /proc/1/exe || echo exe-hidden; cat /proc/1/environ 2>/dev/null | wc -c']);
    const [cmdline, exe, environ] = r.stdout.split('\n');
    expect(cmdline.trim()).toBe('tsrun-init');
    expect(exe).toBe('exe-hidden');
    expect(environ).toBe('0');
    expect(r.stdout).not.toContain('node');
  });
});
