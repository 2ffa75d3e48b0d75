// --network none | host | container:NAME and the /etc files every container
// gets (hostname, hosts with --add-host, resolv.conf with --dns*), as a
// Docker user sees them; bad flags fail before anything is created.
import { readdirSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('network-modes');

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

describe.skipIf(skip)('network modes and /etc files', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());

  it('--network none has only lo, and /etc/hosts, hostname and resolv.conf are the container\'s own', async () => {
    const r = await sb.run([
      '--network', 'none', '-h', 'web1', '--add-host', 'db:10.1.2.3', '--add-host', 'v6:[fd00::1]', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2',
      'sh', '-c', 'ls /sys/class/net; echo ---; cat /etc/hostname /etc/hosts; echo ---; cat /etc/resolv.conf; readlink /proc/self/ns/net',
    ]);
    expect(r.stderr).toBe('');
    const [ifaces, etc, resolv] = r.stdout.split('---\n');
    expect(ifaces.trim()).toBe('lo');
    expect(etc).toMatch(/^web1\n127\.0\.0\.1\tlocalhost\n/);
    expect(etc).toContain('10.1.2.3\tdb\n');
    expect(etc).toContain('fd00::1\tv6\n');
    expect(etc).toContain('127.0.0.1\tweb1\n');
    expect(resolv.split('\n').slice(0, 3)).toEqual(['nameserver 192.0.2.53', 'search example.test', 'options ndots:2']);
    // Its own namespace, not the host's.
    expect(resolv.trim().split('\n').at(-1)).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('host sees the host\'s interfaces and name', async () => {
    // Other test files add and remove container veths meanwhile: what the
    // container lists must hold every link there before and after, and
    // nothing that was in neither.
    const before = readdirSync('/sys/class/net');
    const r = await sb.run(['--network', 'host', 'sh', '-c', 'hostname; ls /sys/class/net; readlink /proc/self/ns/net']);
    const after = readdirSync('/sys/class/net');
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(hostname());
    const inside = lines.slice(1, -1);
    expect(inside).toEqual(expect.arrayContaining(before.filter((l) => after.includes(l))));
    expect(inside.filter((l) => !before.includes(l) && !after.includes(l))).toEqual([]);
    expect(inside).toContain('lo');
    expect(lines.at(-1)).toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('container:NAME joins a running container\'s network namespace; a stopped one is refused', async () => {
    const d = await sb.tsrun(['run', '-d', '--name', 'netowner', '--rootfs', busybox(), 'sleep', '60']);
    expect(d.exitCode, d.stderr).toBe(0);
    const owner = await sb.tsrun(['exec', 'netowner', 'readlink', '/proc/self/ns/net']);
    const r = await sb.run(['--network', 'container:netowner', 'readlink', '/proc/self/ns/net']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(owner.stdout);
    // Its /etc files and host name are the owner's, as in Docker.
    const ownerEtc = await sb.tsrun(['exec', 'netowner', 'sh', '-c', 'hostname; cat /etc/hosts /etc/resolv.conf']);
    const joinerEtc = await sb.run(['--network', 'container:netowner', 'sh', '-c', 'hostname; cat /etc/hosts /etc/resolv.conf']);
    expect(joinerEtc.stdout).toBe(ownerEtc.stdout);
    expect(ownerEtc.stdout).toMatch(/^[0-9a-f]{12}\n/);
    await sb.tsrun(['stop', '-t', '1', 'netowner']);
    const stopped = await sb.run(['--network', 'container:netowner', 'true']);
    expect(stopped.exitCode).toBe(125);
    expect(stopped.stderr).toMatch(/cannot join the network of netowner: the container is not running/);
    await sb.tsrun(['rm', 'netowner']);
  });

  it.each([
    [['--network', 'nosuch'], /network nosuch not found/],
    [['--network', 'container:nosuch'], /No such container: nosuch/],
    [['--add-host', 'nocolon'], /invalid --add-host "nocolon"/],
    [['--add-host', 'db:999.1.1.1'], /invalid --add-host/],
    [['--dns', 'resolver.example'], /invalid --dns "resolver\.example"/],
    [['--network', 'host', '--dns', '192.0.2.1'], /conflicting options/],
    [['--network', 'container:nosuch', '--add-host', 'a:10.0.0.1'], /conflicting options: --add-host and --dns\* and --network container:nosuch/],
  ])('bad input %j → 125 and nothing created', async (flags, message) => {
    const before = readdirSafe(join(sb.root, 'containers'));
    const r = await sb.run([...flags, 'true']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(readdirSafe(join(sb.root, 'containers'))).toEqual(before);
  });

  it('inspect shows the network mode and the /etc flags', async () => {
    const c = await sb.tsrun(['create', '--name', 'insp', '--add-host', 'db:10.1.2.3', '--dns', '192.0.2.53', '--rootfs', busybox(), 'true']);
    expect(c.exitCode, c.stderr).toBe(0);
    const doc = JSON.parse((await sb.tsrun(['inspect', 'insp'])).stdout)[0];
    expect(doc.HostConfig).toMatchObject({ NetworkMode: 'bridge', ExtraHosts: ['db:10.1.2.3'], Dns: ['192.0.2.53'] });
    await sb.tsrun(['rm', 'insp']);
  });
});
