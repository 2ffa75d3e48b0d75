// A fake cgroup filesystem in a temp directory, for unit tests of
// src/cgroups without root. It plays the kernel's part: mkdir fills a new
// cgroup with the control files its controllers provide, rmdir refuses a
// cgroup that still has processes or children (and removes the control
// files, which a real rmdir never has to), and the fake native cgroupWrite
// checks and applies values the way the kernel would for the files tsrun
// writes. Its deps() hand src/cgroups its native writes, its mount table
// and its mkdir and rmdir.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeSystemError } from '../../src/errors.js';
import type { CgroupDeps } from '../../src/cgroups/index.js';
import type { NativeDeviceRule } from '../../src/native/types.js';

const V1_UNLIMITED = '9223372036854771712';
const ERRNO: Record<string, number> = { ENOENT: 2, EINVAL: 22, EBUSY: 16, ENOSPC: 28, EPERM: 1 };

function sysError(code: string, syscall: string, p: string): NativeSystemError {
  return new NativeSystemError({ message: `${syscall} ${p}: ${code}`, code, errno: -ERRNO[code]!, syscall, path: p, step: 'cgroup' });
}

function errnoError(code: string, syscall: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, errno: -ERRNO[code]!, syscall, path: p });
}

const V2_FILES: Record<string, Record<string, string>> = {
  memory: { 'memory.max': 'max\n', 'memory.swap.max': 'max\n', 'memory.low': '0\n', 'memory.current': '0\n', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' },
  cpu: { 'cpu.max': 'max 100000\n', 'cpu.weight': '100\n' },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n' },
  io: { 'io.max': '' },
};

const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    'memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
    'memory.memsw.limit_in_bytes': `${V1_UNLIMITED}\n`,
    'memory.soft_limit_in_bytes': `${V1_UNLIMITED}\n`,
    'memory.usage_in_bytes': '0\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory.swappiness': '60\n',
  },
  cpu: { 'cpu.shares': '1024\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_period_us': '100000\n', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' },
  cpuacct: { 'cpuacct.usage': '0\n', 'cpuacct.stat': 'user 0\nsystem 0\n' },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n' },
  freezer: { 'freezer.state': 'THAWED\n' },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  blkio: { 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '' },
};

export interface FakeOptions {
  /** v2: what the root's cgroup.controllers offers. v1: the hierarchies, co-mounted ones joined by commas ("cpu,cpuacct"). */
  controllers?: string[];
  /** Control files this "kernel" never creates (no swap accounting, say). */
  missingFiles?: string[];
  /** The root cpuset (v1). */
  cpus?: string;
}

export interface Write {
  /** Relative to the fake root. */
  path: string;
  value: string;
}


export class FakeCgroupFs {
  readonly base: string;
  /** The fake /sys/fs/cgroup. */
  readonly root: string;
  readonly mountinfo: string;
  readonly writes: Write[] = [];
  readonly filters: Array<{ dir: string; rules: NativeDeviceRule[] }> = [];
  /** v1: how many FROZEN writes the freezer needs before it reports FROZEN (Infinity: never). */
  freezeAfterWrites = 1;
  /** v2: ms until cgroup.events says frozen 1 after cgroup.freeze=1 (Infinity: never). */
  freezeDelayMs = 0;
  /** Thrown by attachDeviceFilter when set. */
  filterError: Error | null = null;
  private readonly missing: Set<string>;
  private readonly hierarchies = new Map<string, string[]>(); // v1 mount dir → controllers
  private frozenWrites = new Map<string, number>();

  constructor(readonly mode: 'v1' | 'v2', opts: FakeOptions = {}) {
    this.base = mkdtempSync(path.join(tmpdir(), 'tsrun-fakecg-'));
    this.root = path.join(this.base, 'cgroup');
    this.mountinfo = path.join(this.base, 'mountinfo');
    this.missing = new Set(opts.missingFiles ?? []);
    mkdirSync(this.root);
    const lines = [`20 1 0:20 / /proc rw - proc proc rw`];
    if (mode === 'v2') {
      const controllers = opts.controllers ?? ['cpuset', 'cpu', 'io', 'memory', 'pids'];
      this.put(this.root, { 'cgroup.controllers': `${controllers.join(' ')}\n`, 'cgroup.subtree_control': '\n', 'cgroup.procs': '', 'cpu.stat': 'usage_usec 0\n' });
      lines.push(`30 1 0:30 / ${this.root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`);
    } else {
      lines.push(`30 1 0:30 / ${this.root} rw,nosuid - tmpfs tmpfs rw,mode=755`);
      const groups = opts.controllers ?? ['memory', 'cpu,cpuacct', 'cpuset', 'pids', 'freezer', 'devices', 'blkio'];
      groups.forEach((group, i) => {
        const mount = path.join(this.root, group);
        mkdirSync(mount);
        const controllers = group.split(',');
        this.hierarchies.set(mount, controllers);
        this.put(mount, { 'cgroup.procs': '', tasks: '' });
        if (controllers.includes('cpuset')) this.put(mount, { 'cpuset.cpus': `${opts.cpus ?? '0-3'}\n`, 'cpuset.mems': '0\n' });
        if (controllers.includes('memory')) this.put(mount, { 'memory.limit_in_bytes': `${V1_UNLIMITED}\n` });
        lines.push(`${31 + i} 30 0:${31 + i} / ${mount} rw,nosuid - cgroup cgroup rw,${group}`);
      });
      // A hybrid host's controller-less cgroup2 tree, which must be ignored.
      mkdirSync(path.join(this.root, 'unified'));
      mkdirSync(path.join(this.root, 'systemd'));
      lines.push(`50 30 0:50 / ${path.join(this.root, 'unified')} rw,nosuid - cgroup2 cgroup2 rw`);
      lines.push(`51 30 0:51 / ${path.join(this.root, 'systemd')} rw,nosuid - cgroup cgroup rw,xattr,name=systemd`);
    }
    writeFileSync(this.mountinfo, `${lines.join('\n')}\n`);
  }

  deps(): CgroupDeps {
    return { native: this.native, mountRoot: this.root, mountinfo: this.mountinfo, dirs: { mkdir: (p) => this.mkdir(path.resolve(p)), rmdir: (p) => this.rmdir(path.resolve(p)) } };
  }

  readonly native: CgroupDeps['native'] = {
    cgroupWrite: (p, value) => this.write(p, value),
    attachDeviceFilter: (dir, rules) => {
      if (this.filterError) throw this.filterError;
      this.filters.push({ dir: path.relative(this.root, dir), rules });
    },
  };

  /** Text of a file below the root. */
  read(rel: string): string {
    return readFileSync(path.join(this.root, rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(path.join(this.root, rel));
  }

  /** Every directory below the root, relative, sorted. */
  dirs(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        out.push(path.relative(this.root, path.join(d, e.name)));
        walk(path.join(d, e.name));
      }
    };
    walk(this.root);
    return out.sort();
  }

  /** Writes relative to the root, in order, without the subtree_control noise unless asked. */
  writesTo(filter: (w: Write) => boolean = () => true): Write[] {
    return this.writes.filter(filter);
  }

  cleanup(): void {
    rmSync(this.base, { recursive: true, force: true });
  }

  owns(p: string): boolean {
    return p === this.root || p.startsWith(`${this.root}/`);
  }

  private put(dir: string, files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) if (!this.missing.has(name)) writeFileSync(path.join(dir, name), text);
  }

  private hierarchyOf(dir: string): string[] {
    for (const [mount, controllers] of this.hierarchies) if (dir === mount || dir.startsWith(`${mount}/`)) return controllers;
    return [];
  }

  // ---- the "kernel" ---------------------------------------------------------

  mkdir(dir: string): void {
    if (existsSync(dir)) throw errnoError('EEXIST', 'mkdir', dir);
    mkdirSync(dir); // ENOENT for a missing parent, like the kernel
    const parent = path.dirname(dir);
    if (this.mode === 'v2') {
      const enabled = this.words(path.join(parent, 'cgroup.subtree_control'));
      this.put(dir, {
        'cgroup.procs': '',
        'cgroup.events': 'populated 0\nfrozen 0\n',
        'cgroup.freeze': '0\n',
        'cgroup.type': 'domain\n',
        'cgroup.controllers': `${enabled.join(' ')}\n`,
        'cgroup.subtree_control': '\n',
        'cpu.stat': enabled.includes('cpu') ? 'usage_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n' : 'usage_usec 0\n',
      });
      for (const c of enabled) this.put(dir, V2_FILES[c] ?? {});
    } else {
      this.put(dir, { 'cgroup.procs': '', tasks: '' });
      for (const c of this.hierarchyOf(dir)) this.put(dir, V1_FILES[c] ?? {});
    }
  }

  rmdir(dir: string): void {
    if (!existsSync(dir)) throw errnoError('ENOENT', 'rmdir', dir);
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory())) throw errnoError('EBUSY', 'rmdir', dir);
    if (existsSync(path.join(dir, 'cgroup.procs')) && readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() !== '') {
      throw errnoError('EBUSY', 'rmdir', dir);
    }
    for (const e of entries) unlinkSync(path.join(dir, e.name));
    rmdirSync(dir);
  }

  private words(file: string): string[] {
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : [];
  }

  private write(p: string, value: string): void {
    if (!existsSync(p) || !statSync(p).isFile()) throw sysError('ENOENT', 'open', p);
    this.writes.push({ path: path.relative(this.root, p), value });
    const dir = path.dirname(p);
    const name = path.basename(p);
    const num = (f: string) => Number(readFileSync(path.join(dir, f), 'utf8').trim());
    switch (name) {
      case 'cgroup.subtree_control': {
        const enabled = new Set(this.words(p));
        for (const tok of value.trim().split(/\s+/)) {
          const c = tok.slice(1);
          if (tok[0] === '+') {
            if (!this.words(path.join(dir, 'cgroup.controllers')).includes(c)) throw sysError('ENOENT', 'write', p);
            enabled.add(c);
          } else enabled.delete(c);
        }
        writeFileSync(p, `${[...enabled].join(' ')}\n`);
        return;
      }
      case 'cgroup.procs': {
        if (existsSync(path.join(dir, 'cpuset.cpus')) && this.mode === 'v1' && readFileSync(path.join(dir, 'cpuset.cpus'), 'utf8').trim() === '') {
          throw sysError('ENOSPC', 'write', p);
        }
        writeFileSync(p, `${readFileSync(p, 'utf8')}${value}\n`);
        return;
      }
      case 'cgroup.freeze': {
        writeFileSync(p, `${value}\n`);
        const events = path.join(dir, 'cgroup.events');
        const set = (frozen: number) => existsSync(events) && writeFileSync(events, `populated 0\nfrozen ${frozen}\n`);
        if (value.trim() === '0') set(0);
        else if (this.freezeDelayMs === 0) set(1);
        else if (Number.isFinite(this.freezeDelayMs)) setTimeout(() => readFileSync(p, 'utf8').trim() === '1' && set(1), this.freezeDelayMs);
        return;
      }
      case 'freezer.state': {
        if (value === 'THAWED') {
          this.frozenWrites.set(dir, 0);
          writeFileSync(p, 'THAWED\n');
        } else if (value === 'FROZEN') {
          const n = (this.frozenWrites.get(dir) ?? 0) + 1;
          this.frozenWrites.set(dir, n);
          writeFileSync(p, n >= this.freezeAfterWrites ? 'FROZEN\n' : 'FREEZING\n');
        } else throw sysError('EINVAL', 'write', p);
        return;
      }
      case 'memory.limit_in_bytes':
        // Below what the cgroup uses, once reclaim gives up: EBUSY.
        if (Number(value) !== -1 && existsSync(path.join(dir, 'memory.usage_in_bytes')) && Number(value) < num('memory.usage_in_bytes')) {
          throw sysError('EBUSY', 'write', p);
        }
        if (existsSync(path.join(dir, 'memory.memsw.limit_in_bytes')) && Number(value) > num('memory.memsw.limit_in_bytes')) throw sysError('EINVAL', 'write', p);
        break;
      case 'memory.memsw.limit_in_bytes':
        if (Number(value) !== -1 && Number(value) < num('memory.limit_in_bytes')) throw sysError('EINVAL', 'write', p);
        break;
      case 'memory.oom_control': {
        // Only oom_kill_disable can be written; the rest is the kernel's.
        if (!/^[01]$/.test(value.trim())) throw sysError('EINVAL', 'write', p);
        writeFileSync(p, readFileSync(p, 'utf8').replace(/^oom_kill_disable \d+$/m, `oom_kill_disable ${value.trim()}`));
        return;
      }
      case 'memory.swappiness':
        if (!/^\d+$/.test(value.trim()) || Number(value) > 100) throw sysError('EINVAL', 'write', p);
        break;
      case 'cpuset.cpus':
        if (value.trim() !== '' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value.trim())) throw sysError('EINVAL', 'write', p);
        break;
      case 'io.max':
      case 'blkio.throttle.read_bps_device':
      case 'blkio.throttle.write_bps_device':
      case 'devices.allow':
      case 'devices.deny':
        // Each write adds a line (a real kernel merges them per device).
        writeFileSync(p, `${readFileSync(p, 'utf8')}${value}\n`);
        return;
    }
    // v1 memory files take -1 and read back as the largest page count.
    writeFileSync(p, `${value === '-1' && this.mode === 'v1' && name.startsWith('memory.') ? V1_UNLIMITED : value}\n`);
  }
}
