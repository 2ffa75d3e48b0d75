import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLONE_FLAGS, MS } from '../../src/native/constants.js';
import { DEFAULT_DEVICES, toNativeConfig, translateMount } from '../../src/runtime/native-config.js';
import { buildSpec } from '../../src/spec/build.js';
import type { OciMount, OciSpec } from '../../src/spec/oci.js';
import { thrown } from '../helpers/expect-error.js';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-nc-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The OR of a list of capability numbers as an unsigned 32/64-bit mask (no sign trouble at bit 31). */
function capMask(caps: number[]): number {
  return caps.reduce((mask, n) => mask + 2 ** n, 0);
}

function minimalSpec(over: Partial<OciSpec> = {}): OciSpec {
  return {
    ociVersion: '1.2.0',
    root: { path: '/nonexistent-rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    linux: { namespaces: [{ type: 'mount' }] },
    ...over,
  };
}

const STDIO: [number, number, number] = [0, 1, 2];

describe('translateMount: options', () => {
  it('maps flag options to mount flags and leaves fstype/source alone', () => {
    const m = translateMount({
      destination: '/proc',
      type: 'proc',
      source: 'proc',
      options: ['ro', 'nosuid', 'nodev', 'noexec'],
    });
    expect(m).toEqual({
      source: 'proc',
      target: '/proc',
      fstype: 'proc',
      flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
      data: null,
      propagation: 0,
      remountFlags: 0,
      targetKind: 'dir',
    });
    expect(m.flags).toBe(1 | 2 | 4 | 8);
  });

  it('maps the atime, sync and symlink options', () => {
    const flagsOf = (options: string[]) => translateMount({ destination: '/x', type: 'tmpfs', options }).flags;
    expect(flagsOf(['strictatime'])).toBe(1 << 24);
    expect(flagsOf(['relatime'])).toBe(1 << 21);
    expect(flagsOf(['noatime', 'nodiratime'])).toBe(1024 | 2048);
    expect(flagsOf(['sync', 'dirsync'])).toBe(16 | 128);
    expect(flagsOf(['mand'])).toBe(64);
    expect(flagsOf(['nosymfollow'])).toBe(256);
    expect(flagsOf(['remount'])).toBe(32);
  });

  it('a later clearing option clears the flag an earlier option set', () => {
    const flagsOf = (options: string[]) => translateMount({ destination: '/x', type: 'tmpfs', options }).flags;
    expect(flagsOf(['ro', 'rw'])).toBe(0);
    expect(flagsOf(['ro', 'nosuid', 'rw'])).toBe(MS.NOSUID);
    expect(flagsOf(['rw', 'ro'])).toBe(MS.RDONLY);
    expect(flagsOf(['nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec'])).toBe(0);
    expect(flagsOf(['strictatime', 'nostrictatime', 'noatime', 'atime'])).toBe(0);
  });

  it('puts propagation options in propagation, not flags', () => {
    const m = (options: string[]) => translateMount({ destination: '/x', type: 'tmpfs', options });
    expect(m(['rprivate'])).toMatchObject({ flags: 0, propagation: MS.PRIVATE | MS.REC });
    expect(m(['rprivate']).propagation).toBe((1 << 18) | 16384);
    expect(m(['private']).propagation).toBe(1 << 18);
    expect(m(['rslave']).propagation).toBe((1 << 19) | 16384);
    expect(m(['slave']).propagation).toBe(1 << 19);
    expect(m(['rshared']).propagation).toBe((1 << 20) | 16384);
    expect(m(['shared']).propagation).toBe(1 << 20);
    expect(m(['runbindable']).propagation).toBe((1 << 17) | 16384);
    expect(m(['unbindable']).propagation).toBe(1 << 17);
    expect(m(['nosuid', 'rslave'])).toMatchObject({ flags: MS.NOSUID, propagation: MS.SLAVE | MS.REC, data: null });
  });

  it('joins unknown options, in order, into data', () => {
    const m = translateMount({
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    });
    expect(m.data).toBe('mode=755,size=65536k');
    expect(m.flags).toBe(MS.NOSUID | MS.STRICTATIME);
    expect(m.fstype).toBe('tmpfs');

    const pts = translateMount({
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    });
    expect(pts.data).toBe('newinstance,ptmxmode=0666,mode=0620,gid=5');
    expect(pts.flags).toBe(MS.NOSUID | MS.NOEXEC);
  });

  it('treats options named like Object.prototype keys as fs data, not as flags', () => {
    const m = translateMount({ destination: '/x', type: 'tmpfs', options: ['constructor', 'toString', 'mode=1'] });
    expect(m.flags).toBe(0);
    expect(m.propagation).toBe(0);
    expect(m.data).toBe('constructor,toString,mode=1');
  });

  it('uses the type as source when the source is missing, and null when both are', () => {
    expect(translateMount({ destination: '/run', type: 'tmpfs' }).source).toBe('tmpfs');
    expect(translateMount({ destination: '/run' })).toMatchObject({ source: null, fstype: null, flags: 0, data: null });
  });

  it('refuses a relative destination', () => {
    const err = thrown(() => translateMount({ destination: 'proc', type: 'proc', source: 'proc' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('"proc"');
  });
});

describe('translateMount: bind mounts', () => {
  it("type 'bind' with ro: first call is a plain bind, read-only moves to remountFlags", async () => {
    const src = path.join(tmp, 'data');
    await mkdir(src);
    const m = translateMount({ destination: '/data', type: 'bind', source: src, options: ['ro', 'nosuid', 'nodev', 'noexec'] });
    expect(m.flags).toBe(MS.BIND);
    expect(m.remountFlags).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
    expect(m.fstype).toBeNull();
    expect(m.source).toBe(src);
    expect(m.target).toBe('/data');
    expect(m.targetKind).toBe('dir');
  });

  it("option 'rbind' makes a recursive bind, with atime flags also deferred to the remount", async () => {
    const src = path.join(tmp, 'data');
    await mkdir(src);
    const m = translateMount({
      destination: '/data',
      type: 'none',
      source: src,
      options: ['rbind', 'ro', 'noatime', 'strictatime', 'rprivate', 'x-custom=1'],
    });
    expect(m.flags).toBe(MS.BIND | MS.REC);
    expect(m.flags & MS.RDONLY).toBe(0);
    expect(m.remountFlags).toBe(MS.RDONLY | MS.NOATIME | MS.STRICTATIME);
    expect(m.propagation).toBe(MS.PRIVATE | MS.REC);
    expect(m.fstype).toBeNull();
    expect(m.data).toBe('x-custom=1');
  });

  it('a bind mount without restricting options needs no remount', async () => {
    const src = path.join(tmp, 'data');
    await mkdir(src);
    const m = translateMount({ destination: '/data', type: 'bind', source: src, options: ['rw'] });
    expect(m).toMatchObject({ flags: MS.BIND, remountFlags: 0 });
  });

  it("targetKind is 'file' for a file source and 'dir' for a directory source", async () => {
    const file = path.join(tmp, 'resolv.conf');
    const dir = path.join(tmp, 'dir');
    await writeFile(file, 'nameserver 127.0.0.1\n');
    await mkdir(dir);
    expect(translateMount({ destination: '/etc/resolv.conf', type: 'bind', source: file }).targetKind).toBe('file');
    expect(translateMount({ destination: '/mnt', source: dir, options: ['rbind'] }).targetKind).toBe('dir');
    expect(translateMount({ destination: '/etc/hosts', source: file, options: ['bind'] }).targetKind).toBe('file');
  });

  it('refuses a bind mount whose source does not exist', () => {
    const missing = path.join(tmp, 'no-such-dir');
    const err = thrown(() => translateMount({ destination: '/data', type: 'bind', source: missing }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(missing);
    const err2 = thrown(() => translateMount({ destination: '/data', source: missing, options: ['rbind'] }));
    expect(err2.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a bind mount with no source at all', () => {
    const err = thrown(() => translateMount({ destination: '/data', type: 'bind' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('/data');
  });
});

describe('toNativeConfig: namespaces', () => {
  it('turns the namespaces to create into clone flags', () => {
    const spec = minimalSpec({
      linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })) } as OciSpec['linux'],
    });
    const c = toNativeConfig(spec, { stdio: STDIO });
    expect(c.cloneFlags).toBe(0x20000000 + 0x40000000 + 0x08000000 + 0x04000000 + 0x00020000 + 0x02000000);
    expect(c.cloneFlags).toBe(
      CLONE_FLAGS.pid | CLONE_FLAGS.network | CLONE_FLAGS.ipc | CLONE_FLAGS.uts | CLONE_FLAGS.mount | CLONE_FLAGS.cgroup,
    );
    expect(c.joinNamespaces).toEqual([]);
  });

  it('a namespace with a path is joined, not created', () => {
    const spec = minimalSpec({
      linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'ipc', path: '/run/ns/ipc' }] },
    });
    const c = toNativeConfig(spec, { stdio: STDIO });
    expect(c.cloneFlags).toBe(CLONE_FLAGS.mount);
    expect(c.joinNamespaces).toEqual([
      { flag: 0x40000000, path: '/proc/1/ns/net' },
      { flag: 0x08000000, path: '/run/ns/ipc' },
    ]);
  });

  it('refuses a time namespace as UNSUPPORTED', () => {
    const spec = minimalSpec({ linux: { namespaces: [{ type: 'mount' }, { type: 'time' }] } });
    const err = thrown(() => toNativeConfig(spec, { stdio: STDIO }));
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('time');
  });

  it('refuses a user namespace without mappings (test/unit/spec-userns.test.ts has the rest)', () => {
    const spec = minimalSpec({ linux: { namespaces: [{ type: 'mount' }, { type: 'user' }] } });
    const err = thrown(() => toNativeConfig(spec, { stdio: STDIO }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('user namespaces enabled, but no uid mappings found (linux.uidMappings)');
  });

  it('refuses an unknown namespace type as UNSUPPORTED', () => {
    const spec = minimalSpec({ linux: { namespaces: [{ type: 'mount' }, { type: 'bogus' as 'pid' }] } });
    expect(thrown(() => toNativeConfig(spec, { stdio: STDIO })).code).toBe('UNSUPPORTED');
  });

  // Namespace types come from config.json once specs are read from bundles:
  // a type that happens to be an Object.prototype key must not slip through
  // (CLONE_FLAGS['constructor'] is a function, not undefined).
  it.each(['constructor', 'toString', '__proto__'])('refuses the namespace type %j (an Object.prototype key) as UNSUPPORTED', (type) => {
    const created = minimalSpec({ linux: { namespaces: [{ type: 'mount' }, { type: type as 'pid' }] } });
    expect(thrown(() => toNativeConfig(created, { stdio: STDIO })).code).toBe('UNSUPPORTED');
    const joined = minimalSpec({ linux: { namespaces: [{ type: 'mount' }, { type: type as 'pid', path: '/proc/1/ns/net' }] } });
    expect(thrown(() => toNativeConfig(joined, { stdio: STDIO })).code).toBe('UNSUPPORTED');
  });

  it("without a mount namespace of its own (none, or a join of ours) it runs in the host's table; a user namespace then is refused", () => {
    const none = minimalSpec({ linux: { namespaces: [{ type: 'pid' }, { type: 'uts' }] } });
    expect(toNativeConfig(none, { stdio: STDIO }).hostMountNs).toBe(true);
    expect(toNativeConfig(minimalSpec({ linux: undefined }), { stdio: STDIO }).hostMountNs).toBe(true);
    // Our own mount namespace by path is no namespace of its own.
    const ours = minimalSpec({ linux: { namespaces: [{ type: 'mount', path: '/proc/self/ns/mnt' }] } });
    const cfg = toNativeConfig(ours, { stdio: STDIO });
    expect(cfg.hostMountNs).toBe(true);
    expect(cfg.joinNamespaces).toEqual([]);
    expect(toNativeConfig(minimalSpec(), { stdio: STDIO }).hostMountNs).toBe(false);
    const withUser = minimalSpec({
      linux: { namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 100000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 1 }] },
    });
    expect(thrown(() => toNativeConfig(withUser, { stdio: STDIO })).message).toMatch(/needs a mount namespace of its own/);
  });
});

describe('toNativeConfig: process', () => {
  it('maps capability names to their numbers, per set', () => {
    const spec = minimalSpec();
    spec.process.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'],
      effective: ['CAP_KILL'],
      permitted: ['CAP_SETFCAP', 'CAP_CHOWN'],
      inheritable: [],
      ambient: ['CAP_AUDIT_WRITE'],
    };
    const c = toNativeConfig(spec, { stdio: STDIO });
    expect(c.caps).toEqual({
      bounding: [0, 5, 29, 31],
      effective: [5],
      permitted: [31, 0],
      inheritable: [],
      ambient: [29],
    });
  });

  it('a process without capabilities gets empty sets', () => {
    const c = toNativeConfig(minimalSpec(), { stdio: STDIO });
    expect(c.caps).toEqual({ bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] });
  });

  it('refuses an unknown capability as INVALID_ARGUMENT', () => {
    const spec = minimalSpec();
    spec.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_FLY'] };
    const err = thrown(() => toNativeConfig(spec, { stdio: STDIO }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('CAP_FLY');
  });

  it('maps rlimit names to resource numbers and refuses unknown ones', () => {
    const spec = minimalSpec();
    spec.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      { type: 'RLIMIT_CPU', soft: 10, hard: 20 },
      { type: 'RLIMIT_RTTIME', soft: 1, hard: 2 },
    ];
    expect(toNativeConfig(spec, { stdio: STDIO }).rlimits).toEqual([
      { resource: 7, soft: 1024, hard: 4096 },
      { resource: 0, soft: 10, hard: 20 },
      { resource: 15, soft: 1, hard: 2 },
    ]);

    spec.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }];
    const err = thrown(() => toNativeConfig(spec, { stdio: STDIO }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('RLIMIT_BOGUS');
  });

  it('copies the process fields and the options through', () => {
    const spec = minimalSpec({ hostname: 'box' });
    spec.root = { path: '/r', readonly: true };
    spec.process = {
      user: { uid: 1000, gid: 100, additionalGids: [100, 10], umask: 0o22 },
      args: ['/bin/echo', 'hi'],
      env: ['A=1'],
      cwd: '/work',
      noNewPrivileges: true,
      oomScoreAdj: 500,
    };
    spec.annotations = { 'org.tsrun.init': 'true' };
    const c = toNativeConfig(spec, { stdio: [7, 8, 9], killOnParentDeath: true });
    expect(c).toMatchObject({
      rootfs: '/r',
      readonlyRoot: true,
      noPivot: false,
      hostname: 'box',
      args: ['/bin/echo', 'hi'],
      env: ['A=1'],
      cwd: '/work',
      uid: 1000,
      gid: 100,
      additionalGids: [100, 10],
      umask: 0o22,
      noNewPrivs: true,
      oomScoreAdj: 500,
      terminal: false,
      consoleSize: null,
      stdio: [7, 8, 9],
      init: true,
      killOnParentDeath: true,
    });
    const d = toNativeConfig(minimalSpec(), { stdio: STDIO });
    expect(d).toMatchObject({ hostname: null, umask: -1, oomScoreAdj: null, noNewPrivs: false, init: false, killOnParentDeath: false, env: [] });
  });

  it('maps consoleSize height/width to rows/cols', () => {
    const spec = minimalSpec();
    spec.process.terminal = true;
    spec.process.consoleSize = { height: 40, width: 132 };
    const c = toNativeConfig(spec, { stdio: STDIO });
    expect(c.terminal).toBe(true);
    expect(c.consoleSize).toEqual({ rows: 40, cols: 132 });
  });
});

describe('toNativeConfig: devices and mounts', () => {
  it('always includes the default devices', () => {
    const c = toNativeConfig(minimalSpec(), { stdio: STDIO });
    expect(c.devices.find((d) => d.path === '/dev/null')).toEqual({ path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 });
    expect(c.devices.map((d) => `${d.path} ${d.major}:${d.minor}`)).toEqual([
      '/dev/null 1:3',
      '/dev/zero 1:5',
      '/dev/full 1:7',
      '/dev/random 1:8',
      '/dev/urandom 1:9',
      '/dev/tty 5:0',
    ]);
  });

  it('appends the spec devices after the defaults, with defaults for mode/uid/gid', () => {
    const spec = minimalSpec({
      linux: {
        namespaces: [{ type: 'mount' }],
        devices: [
          { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
          { path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
        ],
      },
    });
    const c = toNativeConfig(spec, { stdio: STDIO });
    expect(c.devices).toHaveLength(DEFAULT_DEVICES.length + 2);
    expect(c.devices.slice(-2)).toEqual([
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/loop0', type: 'b', major: 7, minor: 0, mode: 0o660, uid: 0, gid: 6 },
    ]);
    // The shared default list is not grown by a spec's devices.
    expect(DEFAULT_DEVICES).toHaveLength(6);
  });

  it('refuses a device of an unknown type', () => {
    const spec = minimalSpec({
      linux: { namespaces: [{ type: 'mount' }], devices: [{ path: '/dev/weird', type: 'x', major: 1, minor: 1 }] },
    });
    const err = thrown(() => toNativeConfig(spec, { stdio: STDIO }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('/dev/weird');
  });

  it('translates every mount, in order', () => {
    const mounts: OciMount[] = [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
    ];
    const c = toNativeConfig(minimalSpec({ mounts }), { stdio: STDIO });
    expect(c.mounts.map((m) => [m.target, m.fstype, m.flags, m.data])).toEqual([
      ['/proc', 'proc', MS.NOSUID, null],
      ['/tmp', 'tmpfs', 0, 'size=1m'],
    ]);
  });
});

describe('toNativeConfig of the spec buildSpec makes (Docker defaults)', () => {
  const ID = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

  async function built() {
    const rootfs = path.join(tmp, 'rootfs');
    await mkdir(path.join(rootfs, 'etc'), { recursive: true });
    await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    const spec = await buildSpec({ rootfs, command: ['sh'] }, { id: ID, hostEnv: {} });
    return { rootfs, config: toNativeConfig(spec, { stdio: STDIO }) };
  }

  it("has exactly Docker's default capability mask 0xa80425fb", async () => {
    const { config } = await built();
    expect(capMask(config.caps.bounding)).toBe(0xa80425fb);
    expect(capMask(config.caps.effective)).toBe(0xa80425fb);
    expect(capMask(config.caps.permitted)).toBe(0xa80425fb);
    expect(config.caps.bounding).toHaveLength(14);
    expect(new Set(config.caps.bounding).size).toBe(14);
    expect(config.caps.inheritable).toEqual([]);
    expect(config.caps.ambient).toEqual([]);
  });

  it('creates the six default namespaces and mounts the defaults', async () => {
    const { rootfs, config } = await built();
    expect(config.cloneFlags).toBe(0x6e020000);
    expect(config.joinNamespaces).toEqual([]);
    expect(config.rootfs).toBe(rootfs);
    expect(config.hostname).toBe(ID.slice(0, 12));
    expect(config.noNewPrivs).toBe(true);
    expect(config.mounts.map((m) => m.target)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/dev/mqueue', '/dev/shm']);
    const dev = config.mounts.find((m) => m.target === '/dev')!;
    expect(dev).toMatchObject({ fstype: 'tmpfs', flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k' });
    const sys = config.mounts.find((m) => m.target === '/sys')!;
    expect(sys.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
    expect(config.maskedPaths).toContain('/proc/kcore');
    expect(config.readonlyPaths).toContain('/proc/sys');
  });
});
