import { describe, it, expect } from 'vitest';
import {
  NAMESPACES,
  NAMESPACE_UNTESTED,
  probe,
  type CheckReport,
  type NamespaceKind,
  type ProbeHost,
} from '../../src/check/probe.js';
import { formatCheckReport } from '../../src/check/report.js';
import { parseMountInfo } from '../../src/util/mountinfo.js';

const EPERM = 1;
const EINVAL = 22;

// Lines every host has; the cgroup lines are what differ between scenarios.
const BASE_MOUNTS = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
`;

/** A Debian 12 systemd host: cgroup2 only, at /sys/fs/cgroup. */
const UNIFIED_MOUNTS = `${BASE_MOUNTS}32 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
33 23 0:28 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
34 23 0:29 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:11 - bpf bpf rw,mode=700
`;

/** This build machine: v1 controllers plus an almost empty cgroup2 at /sys/fs/cgroup/unified. */
const HYBRID_MOUNTS = `${BASE_MOUNTS}31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** An older systemd host booted with v1 only (cpu and cpuacct co-mounted). */
const LEGACY_MOUNTS = `${BASE_MOUNTS}25 23 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,devices
`;

const STATUS = `Name:\tnode
Umask:\t0022
State:\tR (running)
Pid:\t4242
NoNewPrivs:\t0
Seccomp:\t0
Seccomp_filters:\t0
`;

interface FakeOptions {
  mountinfo: string;
  files?: Record<string, string>;
  /** Paths that exist without content worth reading (cgroup.type, /proc/self/ns/*). */
  present?: string[];
  missing?: string[];
  namespaces?: Partial<Record<NamespaceKind, number>>;
  uid?: number;
}

const PROC_NS = ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'user', 'time'];
const TOOLS = ['/usr/sbin/ip', '/usr/sbin/nft', '/usr/bin/nsenter'];

function fakeHost(opts: FakeOptions): ProbeHost & { tried: NamespaceKind[] } {
  const files: Record<string, string> = {
    '/proc/sys/kernel/osrelease': '6.1.0-27-amd64\n',
    '/proc/filesystems': 'nodev\tsysfs\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\nnodev\toverlay\n\text4\n',
    '/proc/sys/user/max_user_namespaces': '96365\n',
    '/proc/self/status': STATUS,
    '/proc/sys/kernel/seccomp/actions_avail': 'kill_process kill_thread trap errno user_notif trace log allow\n',
    '/proc/self/mountinfo': opts.mountinfo,
    '/proc/self/cgroup': '0::/\n',
    ...opts.files,
  };
  for (const m of opts.missing ?? []) delete files[m];
  const present = new Set(['/proc/self', ...PROC_NS.map((n) => `/proc/self/ns/${n}`), ...TOOLS, ...(opts.present ?? [])]);
  for (const m of opts.missing ?? []) present.delete(m);
  const tried: NamespaceKind[] = [];
  return {
    tried,
    uid: opts.uid ?? 0,
    readFile: async (path) => files[path] ?? null,
    exists: async (path) => present.has(path) || path in files,
    tryNamespace: (flag) => {
      tried.push(flag);
      return opts.namespaces?.[flag] ?? 0;
    },
  };
}

const item = (report: CheckReport, name: string) => {
  const found = report.items.find((i) => i.name === name);
  if (!found) throw new Error(`no item ${name}`);
  return found;
};

describe('probe: unified cgroup v2 host', () => {
  const host = () =>
    fakeHost({
      mountinfo: UNIFIED_MOUNTS,
      files: {
        '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
        '/sys/fs/cgroup/cgroup.subtree_control': 'cpu memory pids\n',
        '/proc/self/cgroup': '0::/user.slice/user-0.slice/session-3.scope\n',
      },
    });

  it('sees cgroup2 at /sys/fs/cgroup and its root controllers', async () => {
    const report = await probe(host());
    const cg = report.facts.cgroup;
    expect(cg.mode).toBe('unified');
    expect(cg.v1).toEqual([]);
    expect(cg.v2?.mountPoint).toBe('/sys/fs/cgroup');
    expect(cg.v2?.delegatedRoot).toBe(false);
    expect(cg.v2?.cannotEnable).toEqual([]);
    expect(cg.v2?.ownPath).toBe('/user.slice/user-0.slice/session-3.scope');
    expect(cg.usable).toMatchObject({ memory: 'v2', cpu: 'v2', pids: 'v2', io: 'v2' });
    expect(item(report, 'cgroup-controllers').ok).toBe(true);
  });

  it('can run containers as root with every namespace', async () => {
    const h = host();
    const report = await probe(h);
    expect(report.canRunContainers).toBe(true);
    expect(h.tried.sort()).toEqual([...NAMESPACES].sort());
    for (const kind of NAMESPACES) expect(item(report, `ns:${kind}`).ok).toBe(true);
    expect(report.items.every((i) => i.ok)).toBe(true);
  });

  it('reads seccomp, user namespaces and syscalls from the kernel version', async () => {
    const { facts } = await probe(host());
    expect(facts.seccomp).toEqual({
      supported: true,
      actions: ['kill_process', 'kill_thread', 'trap', 'errno', 'user_notif', 'trace', 'log', 'allow'],
    });
    expect(facts.userns).toEqual({ maxUserNamespaces: 96365, unprivilegedClone: null });
    expect(facts.kernelVersion).toEqual([6, 1, 0]);
    expect(facts.syscalls).toEqual({ pivotRoot: true, openat2: true, clone3: true, cloneIntoCgroup: true });
  });

  it('bridge networking: ip, nft and nsenter on the system path; a missing one names its package', async () => {
    expect(item(await probe(host()), 'bridge-network')).toMatchObject({ ok: true, detail: 'ip, nft, nsenter found', required: false });
    const without = await probe(fakeHost({ mountinfo: UNIFIED_MOUNTS, missing: ['/usr/sbin/nft'] }));
    expect(item(without, 'bridge-network')).toMatchObject({ ok: false, detail: 'missing nft: apt-get install nftables (or run with --network none|host)' });
    expect(without.canRunContainers).toBe(true);
  });
});

describe('probe: cgroup v2 delegated to a container (cgroup namespace)', () => {
  it('notes controllers that subtree_control cannot enable because the cgroup holds processes', async () => {
    const report = await probe(
      fakeHost({
        mountinfo: `${BASE_MOUNTS}1234 27 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot\n`,
        files: {
          '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
          '/sys/fs/cgroup/cgroup.subtree_control': 'memory\n',
          '/sys/fs/cgroup/cgroup.type': 'domain\n',
          '/sys/fs/cgroup/cgroup.procs': '1\n57\n',
        },
      }),
    );
    const v2 = report.facts.cgroup.v2!;
    expect(v2.delegatedRoot).toBe(true);
    expect(v2.cannotEnable).toEqual(['cpuset', 'cpu', 'io', 'pids']);
    expect(report.facts.cgroup.usable).toEqual({ memory: 'v2' });
    expect(item(report, 'cgroup-controllers')).toMatchObject({ ok: false, required: false });
    expect(report.canRunContainers).toBe(true);
    expect(formatCheckReport(report)).toContain('subtree_control cannot enable cpuset cpu io pids');
  });
});

describe('probe: hybrid host (like the build machine)', () => {
  const report = () =>
    probe(
      fakeHost({
        mountinfo: HYBRID_MOUNTS,
        files: {
          '/sys/fs/cgroup/unified/cgroup.controllers': '',
          '/sys/fs/cgroup/unified/cgroup.subtree_control': '',
          '/proc/self/cgroup':
            '9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n',
        },
      }),
    );

  it('finds every v1 hierarchy and the empty v2 tree', async () => {
    const { facts } = await report();
    expect(facts.cgroup.mode).toBe('hybrid');
    expect(facts.cgroup.v2).toMatchObject({ mountPoint: '/sys/fs/cgroup/unified', rootControllers: [] });
    expect(facts.cgroup.v1).toContainEqual({ mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] });
    // name=systemd is a named hierarchy, not a controller
    expect(facts.cgroup.v1.map((h) => h.mountPoint)).not.toContain('/sys/fs/cgroup/systemd');
    expect(Object.keys(facts.cgroup.usable).sort()).toEqual(
      ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'],
    );
    expect(Object.values(facts.cgroup.usable).every((v) => v === 'v1')).toBe(true);
  });

  it('explains that limits come from v1', async () => {
    const r = await report();
    expect(r.canRunContainers).toBe(true);
    expect(item(r, 'cgroup')).toMatchObject({ ok: true, detail: expect.stringContaining('hybrid') });
    expect(formatCheckReport(r)).toContain('hybrid: v2 tree has no controllers, tsrun uses v1 for memory/cpu/pids');
  });

  it('names the few controllers a hybrid v2 tree does carry', async () => {
    const r = await probe(
      fakeHost({ mountinfo: HYBRID_MOUNTS, files: { '/sys/fs/cgroup/unified/cgroup.controllers': 'hugetlb\n' } }),
    );
    expect(r.facts.cgroup.usable.hugetlb).toBe('v2');
    expect(formatCheckReport(r)).toContain('hybrid: v2 tree has only hugetlb, tsrun uses v1 for memory/cpu/pids');
  });
});

describe('probe: legacy v1-only host', () => {
  it('maps co-mounted controllers and reports legacy mode', async () => {
    const r = await probe(fakeHost({ mountinfo: LEGACY_MOUNTS }));
    expect(r.facts.cgroup.mode).toBe('legacy');
    expect(r.facts.cgroup.v2).toBeNull();
    expect(r.facts.cgroup.v1).toContainEqual({ mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] });
    expect(r.facts.cgroup.usable).toEqual({ cpu: 'v1', cpuacct: 'v1', memory: 'v1', pids: 'v1', devices: 'v1' });
    expect(formatCheckReport(r)).toContain('cgroup v1 only: limits use v1 controllers');
  });

  it('reports none when no cgroup filesystem is mounted', async () => {
    const r = await probe(fakeHost({ mountinfo: BASE_MOUNTS }));
    expect(r.facts.cgroup.mode).toBe('none');
    expect(item(r, 'cgroup').ok).toBe(false);
    expect(item(r, 'cgroup-controllers').detail).toContain('missing: memory cpu pids');
    expect(r.canRunContainers).toBe(true);
  });
});

describe('probe: missing features', () => {
  it('missing overlay is optional: --rootfs still works', async () => {
    const r = await probe(
      fakeHost({ mountinfo: UNIFIED_MOUNTS, files: { '/proc/filesystems': 'nodev\tsysfs\nnodev\tproc\n\text4\n' } }),
    );
    expect(r.facts.overlay).toBe(false);
    expect(item(r, 'overlay')).toMatchObject({ ok: false, required: false });
    expect(r.canRunContainers).toBe(true);
    expect(formatCheckReport(r)).toContain('no overlay: images cannot be run (--rootfs still works)');
  });

  it('a required namespace failing with EPERM means containers cannot run', async () => {
    const r = await probe(fakeHost({ mountinfo: UNIFIED_MOUNTS, namespaces: { network: EPERM } }));
    expect(item(r, 'ns:network')).toMatchObject({ ok: false, required: true, detail: expect.stringContaining('EPERM (1)') });
    expect(r.canRunContainers).toBe(false);
    const text = formatCheckReport(r);
    expect(text).toContain('no network namespace: containers cannot run');
    expect(text).toMatch(/Verdict: tsrun cannot run containers here \(ns:network\)/);
  });

  it('an optional namespace failing does not block containers', async () => {
    const r = await probe(
      fakeHost({ mountinfo: UNIFIED_MOUNTS, missing: ['/proc/self/ns/time'], namespaces: { time: EINVAL, user: EPERM } }),
    );
    expect(item(r, 'ns:time')).toMatchObject({ ok: false, required: false, detail: expect.stringContaining('not in kernel') });
    expect(item(r, 'ns:user').ok).toBe(false);
    expect(r.canRunContainers).toBe(true);
  });

  it('a namespace that could not be tried is not counted as working', async () => {
    const r = await probe(fakeHost({ mountinfo: UNIFIED_MOUNTS, namespaces: { pid: NAMESPACE_UNTESTED } }));
    expect(item(r, 'ns:pid').detail).toContain('could not be tried');
    expect(r.canRunContainers).toBe(false);
  });

  it('non-root cannot run containers', async () => {
    const r = await probe(fakeHost({ mountinfo: UNIFIED_MOUNTS, uid: 1000 }));
    expect(item(r, 'root')).toMatchObject({ ok: false, required: true, detail: expect.stringContaining('uid 1000') });
    expect(r.canRunContainers).toBe(false);
    expect(formatCheckReport(r)).toContain('not root');
  });

  it('no /proc means containers cannot run', async () => {
    const r = await probe(fakeHost({ mountinfo: '', missing: ['/proc/self', '/proc/self/mountinfo', '/proc/self/status'] }));
    expect(item(r, 'procfs').ok).toBe(false);
    expect(r.facts.seccomp.supported).toBe(false);
    expect(r.canRunContainers).toBe(false);
  });

  it('old kernels lack openat2, clone3 and CLONE_INTO_CGROUP; the userns sysctl is read', async () => {
    const r = await probe(
      fakeHost({
        mountinfo: UNIFIED_MOUNTS,
        files: { '/proc/sys/kernel/osrelease': '5.4.0-150-generic\n', '/proc/sys/kernel/unprivileged_userns_clone': '0\n' },
      }),
    );
    expect(r.facts.syscalls).toEqual({ pivotRoot: true, openat2: false, clone3: true, cloneIntoCgroup: false });
    expect(r.facts.userns.unprivilegedClone).toBe(false);
    expect(item(r, 'openat2')).toMatchObject({ ok: false, detail: 'kernel 5.4 < 5.6' });
  });

  it('max_user_namespaces=0 disables user namespaces', async () => {
    const r = await probe(fakeHost({ mountinfo: UNIFIED_MOUNTS, files: { '/proc/sys/user/max_user_namespaces': '0\n' } }));
    expect(item(r, 'userns')).toMatchObject({ ok: false, detail: 'max_user_namespaces=0' });
  });
});

describe('parseMountInfo', () => {
  it('handles optional fields and octal-escaped paths', () => {
    const [m] = parseMountInfo('90 27 0:50 /a\\040b /mnt/with\\040space rw,relatime shared:40 master:3 - cgroup2 cgroup2 rw\n');
    expect(m).toEqual({ root: '/a b', mountPoint: '/mnt/with space', fstype: 'cgroup2', superOptions: ['rw'] });
  });
});

describe('formatCheckReport', () => {
  it('prints an aligned table and a verdict, ASCII unless asked', async () => {
    const r = await probe(fakeHost({ mountinfo: HYBRID_MOUNTS }));
    const text = formatCheckReport(r);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+NEED\s+DETAIL$/);
    const detailCol = lines[0]!.indexOf('DETAIL');
    for (const row of lines.slice(1, 1 + r.items.length)) expect(row[detailCol - 1]).toBe(' ');
    expect(text).not.toMatch(/[✓✗]/);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^Verdict: tsrun can run containers here/);
    expect(formatCheckReport(r, { unicode: true })).toContain('✓ ok');
  });
});
