import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupMode, resolveCgroupPath } from '../../src/cgroups/index.js';
import { detectLayout } from '../../src/cgroups/detect.js';

const native = { cgroupWrite: () => {}, attachDeviceFilter: () => {} };

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tsrun-cgdetect-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function mountinfo(lines: string[]): string {
  const file = path.join(tmp, 'mountinfo');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('cgroup mode detection', () => {
  it("is 'v2' when the mount root is cgroup2", () => {
    const mi = mountinfo(['30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot']);
    expect(cgroupMode({ native, mountinfo: mi })).toBe('v2');
    expect(detectLayout({ native, mountinfo: mi })).toEqual({ mode: 'v2', root: '/sys/fs/cgroup' });
  });

  it('finds the mount root among hundreds of container mounts, and a root whose name the kernel escapes', () => {
    const noise = Array.from({ length: 300 }, (_, i) => `${100 + i} 23 0:${90 + i} / /var/lib/tsrun/overlay/c${i}/merged rw,relatime - overlay overlay rw,lowerdir=l/A,upperdir=u,workdir=w`);
    const tmpfsRoot = (at: string) => `31 23 0:28 / ${at} rw,relatime - tmpfs tmpfs rw,mode=755`;
    const v2At = (at: string) => `32 23 0:26 / ${at} rw,relatime - cgroup2 cgroup2 rw`;
    // A later mount on the root hides the earlier one: it must not be filtered out.
    expect(detectLayout({ native, mountinfo: mountinfo([tmpfsRoot('/sys/fs/cgroup'), ...noise, v2At('/sys/fs/cgroup')]) })).toEqual({ mode: 'v2', root: '/sys/fs/cgroup' });
    expect(detectLayout({ native, mountinfo: mountinfo([v2At('/sys/fs/cgroup'), ...noise, tmpfsRoot('/sys/fs/cgroup')]) }).mode).toBe('v1');
    const spaced = path.join(tmp, 'my cgroups');
    const escaped = spaced.replace(' ', '\\040');
    expect(detectLayout({ native, mountRoot: spaced, mountinfo: mountinfo([...noise, v2At(escaped)]) })).toEqual({ mode: 'v2', root: spaced });
    expect(detectLayout({ native, mountRoot: spaced, mountinfo: mountinfo([v2At(escaped), ...noise, tmpfsRoot(escaped)]) }).mode).toBe('v1');
  });

  it("is 'v1' on a hybrid host, ignoring the controller-less unified tree, and maps each controller to its hierarchy", () => {
    const mi = mountinfo([
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,cpu,cpuacct',
      '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ]);
    expect(detectLayout({ native, mountinfo: mi })).toEqual({
      mode: 'v1',
      mountRoot: '/sys/fs/cgroup',
      hierarchies: {
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        cpuset: '/sys/fs/cgroup/cpuset',
        memory: '/sys/fs/cgroup/memory',
        pids: '/sys/fs/cgroup/pids',
      },
    });
  });

  it('prefers a hierarchy under the mount root over another mount of it', () => {
    const mi = mountinfo([
      '50 1 0:32 / /elsewhere/memory rw - cgroup cgroup rw,memory',
      '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    ]);
    expect(detectLayout({ native, mountinfo: mi })).toMatchObject({ hierarchies: { memory: '/sys/fs/cgroup/memory' } });
  });

  it('the last mount on the root wins (a cgroup2 over an old tmpfs)', () => {
    const mi = mountinfo(['31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw', '60 31 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw']);
    expect(cgroupMode({ native, mountinfo: mi })).toBe('v2');
  });

  it('reads the mount table once per deps object (ps opens a cgroup per container)', () => {
    const mi = mountinfo(['30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw']);
    const deps = { native, mountinfo: mi };
    expect(detectLayout(deps).mode).toBe('v2');
    writeFileSync(mi, '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n');
    expect(detectLayout(deps).mode).toBe('v2');
    expect(detectLayout({ native, mountinfo: mi }).mode).toBe('v1');
  });

  it('falls back to looking at the mount root without a mount table', () => {
    const root = path.join(tmp, 'cg');
    mkdirSync(path.join(root, 'memory'), { recursive: true });
    writeFileSync(path.join(root, 'memory', 'cgroup.procs'), '');
    const missing = path.join(tmp, 'no-mountinfo');
    expect(detectLayout({ native, mountRoot: root, mountinfo: missing })).toEqual({ mode: 'v1', mountRoot: root, hierarchies: { memory: path.join(root, 'memory') } });
    writeFileSync(path.join(root, 'cgroup.controllers'), 'memory\n');
    expect(cgroupMode({ native, mountRoot: root, mountinfo: missing })).toBe('v2');
  });
});

describe('resolveCgroupPath', () => {
  it('defaults to tsrun/<id>, or <parent>/<id>', () => {
    expect(resolveCgroupPath(undefined, 'abc')).toBe('tsrun/abc');
    expect(resolveCgroupPath('', 'abc', 'tsrun-test-1')).toBe('tsrun-test-1/abc');
    expect(resolveCgroupPath(undefined, 'abc', '/a/b/')).toBe('a/b/abc');
  });

  it('takes an absolute cgroupsPath from the root and puts a relative one below the parent', () => {
    expect(resolveCgroupPath('/kubepods/pod1/abc', 'abc')).toBe('kubepods/pod1/abc');
    expect(resolveCgroupPath('mygroup/abc', 'abc')).toBe('tsrun/mygroup/abc');
    expect(resolveCgroupPath('//x/./y/', 'abc')).toBe('x/y');
  });

  it('rejects systemd slice paths as UNSUPPORTED', () => {
    expect(() => resolveCgroupPath('system.slice:docker:abc', 'abc')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringMatching(/^systemd cgroup paths are not supported; use cgroupfs/) }),
    );
  });

  it('rejects paths that escape or name the root, and ids that are not one segment', () => {
    expect(() => resolveCgroupPath('/a/../../etc', 'abc')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveCgroupPath('/', 'abc')).toThrow(/root cgroup/);
    expect(() => resolveCgroupPath(undefined, 'a/b')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveCgroupPath(undefined, '..')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
