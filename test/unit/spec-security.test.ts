// Docker's confinement flags: parsing (capabilities, security options,
// devices, ulimits, sysctls, namespace modes) and what buildSpec makes of
// them. No root needed: the only host input is /dev/null and friends.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../src/native/constants.js';
import { buildSpec, type RunOptions } from '../../src/spec/build.js';
import { capabilitySets, hostCapabilities, normalizeCapability, tweakCapabilities } from '../../src/spec/capabilities.js';
import { DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES, DEFAULT_MASKED_PATHS } from '../../src/spec/defaults.js';
import { devicesFromMapping, hostDevices, parseDevice, parseDeviceCgroupRule } from '../../src/spec/devices.js';
import { applyNamespaceModes, DEFAULT_MODES, joinNamespaces, parseIpcMode, parsePidMode } from '../../src/spec/namespaces.js';
import { lsmSettings, parseConfinementFlags, parseSecurityOpts, type ConfinementFlags } from '../../src/spec/security.js';
import { checkSysctlNamespaces, parseSysctls } from '../../src/spec/sysctl.js';
import { parseUlimit, parseUlimits, toRlimits } from '../../src/spec/ulimits.js';
import { rejection, thrown } from '../helpers/expect-error.js';

const ALL_CAPS = [...CAPABILITIES];
const ID = 'feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface';

function throws(fn: () => unknown, message: RegExp): void {
  const err = thrown(fn);
  expect(err.message).toMatch(message);
  expect(err.message).not.toContain('\n');
}

describe('capabilities (moby TweakCapabilities / SetCapabilities)', () => {
  it('takes names in any case, with or without CAP_, and ALL', () => {
    expect(normalizeCapability('sys_time', '--cap-add', ALL_CAPS)).toBe('CAP_SYS_TIME');
    expect(normalizeCapability('Cap_Net_Admin', '--cap-add', ALL_CAPS)).toBe('CAP_NET_ADMIN');
    expect(normalizeCapability('all', '--cap-drop', ALL_CAPS)).toBe('ALL');
  });

  it('refuses unknown names, and names this host cannot grant', () => {
    throws(() => normalizeCapability('FLY', '--cap-add', ALL_CAPS), /^invalid argument "FLY" for "--cap-add" flag: unknown capability: "CAP_FLY"$/);
    throws(() => normalizeCapability('SYS_RESOURCE', '--cap-add', ['CAP_CHOWN']), /not available in the current environment: "CAP_SYS_RESOURCE"/);
  });

  it('reads what this process holds from CapEff', () => {
    expect(hostCapabilities('Name:\tx\nCapEff:\t0000000000000005\n')).toEqual(['CAP_CHOWN', 'CAP_DAC_READ_SEARCH']);
    expect(hostCapabilities('CapEff:\t000001ffffffffff\n')).toEqual(ALL_CAPS);
  });

  it("applies Docker's add/drop rules", () => {
    const basics = ['CAP_CHOWN', 'CAP_KILL', 'CAP_MKNOD'];
    expect(tweakCapabilities(basics, ['CAP_SYS_TIME'], ['CAP_KILL'], false, ALL_CAPS)).toEqual(['CAP_CHOWN', 'CAP_MKNOD', 'CAP_SYS_TIME']);
    expect(tweakCapabilities(basics, ['CAP_SYS_TIME'], ['ALL'], false, ALL_CAPS)).toEqual(['CAP_SYS_TIME']);
    expect(tweakCapabilities(basics, [], ['ALL'], false, ALL_CAPS)).toEqual([]);
    expect(tweakCapabilities(basics, ['ALL'], ['CAP_CHOWN'], false, ALL_CAPS)).toEqual(ALL_CAPS.filter((c) => c !== 'CAP_CHOWN'));
    expect(tweakCapabilities(basics, [], ['CAP_CHOWN'], true, ALL_CAPS)).toEqual(ALL_CAPS);
    expect(tweakCapabilities(basics, ['CAP_KILL'], [], false, ALL_CAPS)).toEqual(basics);
  });

  it('gives root the list in bounding, effective and permitted; a non-root user only the bounding set', () => {
    expect(capabilitySets(['CAP_KILL'], 0)).toEqual({ bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: [] });
    expect(capabilitySets(['CAP_KILL'], 1000)).toEqual({ bounding: ['CAP_KILL'], effective: [], permitted: [], inheritable: [], ambient: [] });
  });
});

describe('--security-opt', () => {
  it('reads seccomp, no-new-privileges (both separators), apparmor, label and systempaths', () => {
    expect(parseSecurityOpts([], '/w')).toEqual({ seccomp: { kind: 'default' }, noNewPrivileges: true, label: [], unmaskedPaths: false });
    const o = parseSecurityOpts(['seccomp=p.json', 'no-new-privileges=false', 'apparmor=unconfined', 'label=disable', 'systempaths=unconfined'], '/w');
    expect(o).toEqual({ seccomp: { kind: 'file', path: '/w/p.json' }, noNewPrivileges: false, apparmor: 'unconfined', label: ['disable'], unmaskedPaths: true });
    expect(parseSecurityOpts(['seccomp=unconfined'], '/w').seccomp).toEqual({ kind: 'unconfined' });
    expect(parseSecurityOpts(['seccomp=/abs/p.json'], '/w').seccomp).toEqual({ kind: 'file', path: '/abs/p.json' });
    expect(parseSecurityOpts(['seccomp=builtin'], '/w').seccomp).toEqual({ kind: 'default' });
    expect(parseSecurityOpts(['no-new-privileges:false', 'no-new-privileges'], '/w').noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['no-new-privileges:false'], '/w').noNewPrivileges).toBe(false);
    expect(parseSecurityOpts(['no-new-privileges=true'], '/w').noNewPrivileges).toBe(true);
  });

  it('refuses anything else in one line', () => {
    throws(() => parseSecurityOpts(['foo=bar'], '/'), /^invalid --security-opt "foo=bar": unknown option "foo"/);
    throws(() => parseSecurityOpts(['nonsense'], '/'), /^invalid --security-opt "nonsense"/);
    throws(() => parseSecurityOpts(['seccomp='], '/'), /^invalid --security-opt "seccomp="/);
    throws(() => parseSecurityOpts(['no-new-privileges=maybe'], '/'), /true or false/);
    throws(() => parseSecurityOpts(['systempaths=confined'], '/'), /unconfined/);
  });

  it('asks the host for AppArmor and SELinux only when something is asked of them', () => {
    const none = { apparmor: false, selinux: false };
    expect(lsmSettings(parseSecurityOpts(['apparmor=unconfined', 'label=disable'], '/'), none)).toEqual({});
    throws(() => lsmSettings(parseSecurityOpts(['apparmor=docker-default'], '/'), none), /AppArmor is not enabled on this host/);
    throws(() => lsmSettings(parseSecurityOpts(['label=type:svirt_t'], '/'), none), /SELinux is not enabled on this host/);
    expect(lsmSettings(parseSecurityOpts(['apparmor=docker-default'], '/'), { apparmor: true, selinux: false })).toEqual({ apparmorProfile: 'docker-default' });
  });
});

describe('--device and --device-cgroup-rule', () => {
  it("reads Docker's HOST[:CONTAINER][:PERMISSIONS]", () => {
    expect(parseDevice('/dev/fuse')).toEqual({ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
    expect(parseDevice('/dev/fuse:r')).toEqual({ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'r' });
    expect(parseDevice('/dev/fuse:/dev/f2')).toEqual({ PathOnHost: '/dev/fuse', PathInContainer: '/dev/f2', CgroupPermissions: 'rwm' });
    expect(parseDevice('/dev/fuse:/dev/f2:rw')).toEqual({ PathOnHost: '/dev/fuse', PathInContainer: '/dev/f2', CgroupPermissions: 'rw' });
    throws(() => parseDevice('/dev/fuse:/x:rwx'), /bad mode specified: rwx/);
    throws(() => parseDevice('/dev/fuse:rel'), /rel is not an absolute path/);
    throws(() => parseDevice('a:b:c:d'), /invalid device specification/);
  });

  it('stats the host node; a missing one or a file is an error', async () => {
    const { devices, rules } = await devicesFromMapping(parseDevice('/dev/null:/dev/mynull:r'));
    expect(devices).toEqual([expect.objectContaining({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 })]);
    expect(rules).toEqual([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }]);
    expect((await rejection(devicesFromMapping(parseDevice('/dev/no-such-device')))).message).toBe(
      'error gathering device information while adding custom device "/dev/no-such-device": no such file or directory',
    );
    expect((await rejection(devicesFromMapping(parseDevice('/etc/hostname')))).message).toMatch(/"\/etc\/hostname": not a device node$/);
  });

  it('follows a symlink on the host, and gives every node under a directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-dev-'));
    try {
      await symlink('/dev/null', path.join(dir, 'link'));
      const { devices } = await devicesFromMapping(parseDevice(`${dir}/link:/dev/n`));
      expect(devices).toEqual([expect.objectContaining({ path: '/dev/n', major: 1, minor: 3 })]);
      // Inside a directory, symlinks are not devices (lstat), as in runc's walk.
      expect((await rejection(devicesFromMapping(parseDevice(`${dir}:/d`)))).message).toMatch(/not a device node/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const { devices } = await devicesFromMapping(parseDevice('/dev:/hostdev'));
    expect(devices.find((d) => d.path === '/hostdev/null')).toMatchObject({ type: 'c', major: 1, minor: 3 });
  });

  it("lists the host's devices as --privileged gives them, leaving out ptmx, console and /dev/pts", async () => {
    const devs = await hostDevices();
    expect(devs.find((d) => d.path === '/dev/null')).toMatchObject({ type: 'c', major: 1, minor: 3 });
    expect(devs.some((d) => d.path === '/dev/ptmx' || d.path === '/dev/console' || d.path.startsWith('/dev/pts/'))).toBe(false);
  });

  it("reads device-cgroup rules in Docker's syntax", () => {
    expect(parseDeviceCgroupRule('c 1:3 rwm')).toEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(parseDeviceCgroupRule('b 7:* rw')).toEqual({ allow: true, type: 'b', major: 7, minor: -1, access: 'rw' });
    expect(parseDeviceCgroupRule('c *:* m')).toEqual({ allow: true, type: 'c', major: -1, minor: -1, access: 'm' });
    expect(parseDeviceCgroupRule('a')).toEqual({ allow: true, type: 'a', access: 'rwm' });
    expect(parseDeviceCgroupRule('a *:* rwm')).toEqual({ allow: true, type: 'a', access: 'rwm' });
    throws(() => parseDeviceCgroupRule('a 1:3 r'), /'a' rule covers every device/);
    throws(() => parseDeviceCgroupRule('x 1:3 r'), /invalid device cgroup rule format/);
    throws(() => parseDeviceCgroupRule('c 1:3'), /invalid device cgroup rule format/);
    throws(() => parseDeviceCgroupRule('c 1:3 rr'), /twice/);
    throws(() => parseDeviceCgroupRule('c 5000:3 r'), /5000 is out of range/);
  });
});

describe('--ulimit', () => {
  it("reads Docker's names and soft[:hard]", () => {
    expect(parseUlimit('nofile=100:200')).toEqual({ Name: 'nofile', Soft: 100, Hard: 200 });
    expect(parseUlimit('core=0')).toEqual({ Name: 'core', Soft: 0, Hard: 0 });
    expect(parseUlimit('memlock=-1')).toEqual({ Name: 'memlock', Soft: -1, Hard: -1 });
    expect(parseUlimits(['nofile=1:2', 'nproc=5', 'nofile=3:4'])).toEqual([{ Name: 'nproc', Soft: 5, Hard: 5 }, { Name: 'nofile', Soft: 3, Hard: 4 }]);
    expect(toRlimits([{ Name: 'nofile', Soft: 100, Hard: 200 }])).toEqual([{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
  });

  it('refuses bad names, values and soft above hard', () => {
    throws(() => parseUlimit('nofile'), /invalid ulimit argument/);
    throws(() => parseUlimit('files=1'), /invalid ulimit type: files/);
    throws(() => parseUlimit('nofile=abc'), /invalid ulimit value "abc"/);
    throws(() => parseUlimit('nofile=1:2:3'), /too many limit value arguments/);
    throws(() => parseUlimit('nofile=300:200'), /soft limit must be less than or equal to hard limit: 300 > 200/);
    throws(() => parseUlimit('nofile=-1:200'), /-1 > 200/);
  });
});

describe('--sysctl', () => {
  it('allows only namespaced keys', () => {
    expect(parseSysctls(['net.ipv4.ip_forward=1', 'kernel.shmmax=1000', 'fs.mqueue.msg_max=20', 'kernel.sem=1 2 3 4'])).toEqual({
      'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000', 'fs.mqueue.msg_max': '20', 'kernel.sem': '1 2 3 4',
    });
    throws(() => parseSysctls(['kernel.panic=1']), /^invalid argument "kernel.panic=1" for "--sysctl" flag: sysctl 'kernel.panic=1' is not allowed/);
    throws(() => parseSysctls(['kernel.hostname=x']), /is not allowed/);
    throws(() => parseSysctls(['net.ipv4.ip_forward']), /use KEY=VALUE/);
    throws(() => parseSysctls(['net/../../x=1']), /is not a sysctl name/);
  });

  it("refuses a namespaced key in a namespace that is the host's", () => {
    checkSysctlNamespaces({ 'net.ipv4.ip_forward': '1' }, new Set(['ipc']));
    throws(() => checkSysctlNamespaces({ 'net.ipv4.ip_forward': '1' }, new Set(['network'])), /not allowed in the host's network namespace/);
    throws(() => checkSysctlNamespaces({ 'kernel.shmmax': '1' }, new Set(['ipc'])), /not allowed in the host's IPC namespace/);
  });
});

describe('namespace modes', () => {
  const base = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }] as const;

  it('reads the modes and refuses others', () => {
    expect(parseIpcMode('container:web')).toEqual({ kind: 'container', ref: 'web' });
    expect(parsePidMode('host')).toEqual({ kind: 'host' });
    throws(() => parseIpcMode('bogus'), /^--ipc: invalid IPC mode "bogus"/);
    throws(() => parsePidMode('private'), /^--pid: invalid PID mode/);
    throws(() => parseIpcMode('container:'), /needs a container name/);
  });

  it('removes host namespaces and marks joined ones, filled in at start', () => {
    const ns = applyNamespaceModes(base.map((n) => ({ ...n })), {
      ipc: { kind: 'container', ref: 'x' }, pid: { kind: 'host' }, uts: 'host', cgroupns: 'host',
    });
    expect(ns).toEqual([{ type: 'network' }, { type: 'ipc', path: '/proc/self/ns/ipc' }, { type: 'mount' }]);
    expect(joinNamespaces(ns, { ipc: 42 })).toEqual([{ type: 'network' }, { type: 'ipc', path: '/proc/42/ns/ipc' }, { type: 'mount' }]);
    expect(applyNamespaceModes(base.map((n) => ({ ...n })), DEFAULT_MODES)).toEqual(base);
  });
});

describe('parseConfinementFlags', () => {
  const parse = (flags: ConfinementFlags) => parseConfinementFlags(flags, { cwd: '/w', capabilities: ALL_CAPS });

  it("keeps the flags in Docker's HostConfig shape for inspect", () => {
    const c = parse({
      privileged: true, capAdd: ['sys_time'], capDrop: ['chown'], securityOpt: ['seccomp=unconfined'], device: ['/dev/fuse'],
      deviceCgroupRule: ['c 1:3 rwm'], ulimit: ['nofile=10:20'], shmSize: '1m', sysctl: ['net.ipv4.ip_forward=1'], groupAdd: ['audio', '5'],
      oomScoreAdj: '500', cgroupns: 'host', ipc: 'shareable', pid: 'host', uts: 'host',
    });
    expect(c.capAdd).toEqual(['CAP_SYS_TIME']);
    expect(c.hostConfig).toEqual({
      Privileged: true, CapAdd: ['sys_time'], CapDrop: ['chown'], SecurityOpt: ['seccomp=unconfined'],
      Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }], DeviceCgroupRules: ['c 1:3 rwm'],
      Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }], ShmSize: 1048576, Sysctls: { 'net.ipv4.ip_forward': '1' }, GroupAdd: ['audio', '5'],
      OomScoreAdj: 500, CgroupnsMode: 'host', IpcMode: 'shareable', PidMode: 'host', UTSMode: 'host',
    });
    expect(parse({}).hostConfig).toEqual({
      Privileged: false, CapAdd: null, CapDrop: null, SecurityOpt: null, Devices: [], DeviceCgroupRules: null, Ulimits: null,
      ShmSize: 67108864, GroupAdd: null, OomScoreAdj: 0, CgroupnsMode: 'private', IpcMode: 'private', PidMode: '', UTSMode: '',
    });
  });

  it('refuses bad values in one line', () => {
    throws(() => parse({ oomScoreAdj: '1001' }), /range for oom score adj is \[-1000, 1000\]/);
    throws(() => parse({ oomScoreAdj: 'x' }), /oom-score-adj/);
    throws(() => parse({ shmSize: '0' }), /greater than 0/);
    throws(() => parse({ shmSize: 'lots' }), /--shm-size/);
    throws(() => parse({ shmSize: '1m', ipc: 'host' }), /conflicting options: --shm-size and --ipc host/);
    throws(() => parse({ cgroupns: 'shared' }), /--cgroupns: invalid CGROUP mode/);
    throws(() => parse({ uts: 'private' }), /--uts: invalid UTS mode/);
    throws(() => parse({ groupAdd: ['a:b'] }), /--group-add/);
  });
});

describe('buildSpec with confinement flags', () => {
  let tmp: string;
  let rootfs: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-sec-'));
    rootfs = path.join(tmp, 'rootfs');
    await mkdir(path.join(rootfs, 'etc'), { recursive: true });
    await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:root\naudio:x:29:\napp:x:1000:\n');
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const lsm = { apparmor: false, selinux: false };
  function build(flags: ConfinementFlags, opts: Partial<RunOptions> = {}) {
    const confinement = parseConfinementFlags(flags, { cwd: tmp, capabilities: ALL_CAPS });
    return buildSpec({ rootfs, command: ['sh'], confinement, ...opts }, { id: ID, hostEnv: {}, lsm, capabilities: ALL_CAPS });
  }
  const mount = (spec: Awaited<ReturnType<typeof build>>, dest: string) => spec.mounts?.find((m) => m.destination === dest);

  it("without flags: Docker's defaults, a seccomp profile and no_new_privs", async () => {
    const spec = await build({});
    expect(spec.process.capabilities?.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.linux?.seccomp?.defaultAction).toBeDefined();
    expect(spec.linux?.maskedPaths).toEqual([...DEFAULT_MASKED_PATHS]);
    expect(spec.linux?.resources?.devices).toEqual(DEFAULT_DEVICE_RULES.map((r) => ({ ...r })));
    expect(spec.linux?.devices).toBeUndefined();
    expect(spec.linux?.sysctl).toBeUndefined();
    expect(spec.process.rlimits).toBeUndefined();
  });

  it('--cap-add/--cap-drop shape the sets; a non-root user gets them as the bounding set only', async () => {
    const spec = await build({ capAdd: ['SYS_TIME'], capDrop: ['CHOWN'] });
    expect(spec.process.capabilities?.effective).toEqual([...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_SYS_TIME']);
    expect((await build({ capDrop: ['ALL'] })).process.capabilities).toEqual({ bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] });
    const user = await build({ capAdd: ['NET_ADMIN'] }, { user: 'app' });
    expect(user.process.capabilities?.bounding).toContain('CAP_NET_ADMIN');
    expect(user.process.capabilities?.effective).toEqual([]);
    expect(user.process.capabilities?.ambient).toEqual([]);
  });

  it('--privileged: every capability and host device, every device allowed, nothing masked, /sys writable, no seccomp', async () => {
    const spec = await build({ privileged: true, capDrop: ['ALL'] });
    expect(spec.process.capabilities?.bounding).toEqual(ALL_CAPS);
    expect(spec.process.capabilities?.effective).toEqual(ALL_CAPS);
    expect(spec.linux?.devices?.find((d) => d.path === '/dev/null')).toMatchObject({ type: 'c', major: 1, minor: 3 });
    expect(spec.linux?.resources?.devices).toEqual([{ allow: true, type: 'a', access: 'rwm' }]);
    expect(spec.linux?.maskedPaths).toEqual([]);
    expect(spec.linux?.readonlyPaths).toEqual([]);
    expect(mount(spec, '/sys')?.options).not.toContain('ro');
    expect(spec.linux?.seccomp).toBeUndefined();
  });

  it('--security-opt: seccomp=unconfined, no-new-privileges=false, systempaths=unconfined, an invalid profile', async () => {
    const spec = await build({ securityOpt: ['seccomp=unconfined', 'no-new-privileges=false', 'systempaths=unconfined'] });
    expect(spec.linux?.seccomp).toBeUndefined();
    expect(spec.process.noNewPrivileges).toBe(false);
    expect(spec.linux?.maskedPaths).toEqual([]);
    expect(spec.linux?.readonlyPaths).toEqual([]);
    expect(mount(spec, '/sys')?.options).toContain('ro');
    await writeFile(path.join(tmp, 'bad.json'), '{ not json');
    const err = await rejection(build({ securityOpt: ['seccomp=bad.json'] }));
    expect(err.message).toContain(path.join(tmp, 'bad.json'));
    expect((await rejection(build({ securityOpt: ['apparmor=my-profile'] }))).message).toMatch(/AppArmor is not enabled/);
  });

  it('--device and --device-cgroup-rule add nodes and rules after the defaults', async () => {
    const spec = await build({ device: ['/dev/null:/dev/xnull:rw'], deviceCgroupRule: ['b 7:* rw'] });
    expect(spec.linux?.devices).toEqual([expect.objectContaining({ path: '/dev/xnull', type: 'c', major: 1, minor: 3 })]);
    expect(spec.linux?.resources?.devices?.slice(-2)).toEqual([
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'b', major: 7, minor: -1, access: 'rw' },
    ]);
    expect((await rejection(build({ device: ['/dev/nope'] }))).message).toMatch(/"\/dev\/nope": no such file or directory/);
  });

  it('--ulimit, --oom-score-adj, --sysctl, --group-add', async () => {
    const spec = await build({ ulimit: ['nofile=100:200'], oomScoreAdj: '500', sysctl: ['net.ipv4.ip_forward=1'], groupAdd: ['audio', '4242'] }, { user: 'app' });
    expect(spec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
    expect(spec.process.oomScoreAdj).toBe(500);
    expect(spec.linux?.sysctl).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(spec.process.user.additionalGids).toEqual([1000, 29, 4242]);
    expect((await rejection(build({ groupAdd: ['nosuchgroup'] }))).message).toBe('unable to find group nosuchgroup: no matching entries in group file');
    expect((await rejection(build({ sysctl: ['net.ipv4.ip_forward=1'] }, { network: { host: true } }))).message).toMatch(/host's network namespace/);
  });

  it('--shm-size and --ipc shape /dev/shm; --ipc/--pid/--uts/--cgroupns the namespaces', async () => {
    expect(mount(await build({ shmSize: '1m' }), '/dev/shm')?.options).toContain('size=1048576');
    expect(mount(await build({ ipc: 'none' }), '/dev/shm')).toBeUndefined();
    expect(mount(await build({ ipc: 'host' }), '/dev/shm')).toEqual({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
    const spec = await build({ ipc: 'host', pid: 'host', uts: 'host', cgroupns: 'host' });
    expect(spec.linux?.namespaces).toEqual([{ type: 'network' }, { type: 'mount' }]);
    expect(spec.hostname).toBe(os.hostname());
    expect(spec.process.env).toContain(`HOSTNAME=${os.hostname()}`);
    expect((await rejection(build({ uts: 'host' }, { hostname: 'x' }))).message).toMatch(/conflicting options: --hostname and --uts host/);
    expect((await rejection(build({ sysctl: ['kernel.shmmax=1'], ipc: 'host' }))).message).toMatch(/host's IPC namespace/);
  });
});
