// Helpers for the lifecycle, state and limits integration tests: where a
// container's cgroup files are (v1 hybrid host or v2 VM), what a container
// may have left behind (state dirs, cgroups, monitors, mounts), and a
// per-test sandbox that is always torn down, even when the test fails.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { busybox, sandbox, type Sandbox } from './tsrun.js';

/** Inside the cgroup v2 QEMU guest (TSRUN_VM=1), where Node runs some 30x slower. */
export const VM = !!process.env.TSRUN_VM;

/** Scales a duration (a timeout, a kill delay, a sleep inside a container) for the VM. */
export function slow(ms: number): number {
  return VM ? ms * 30 : ms;
}

/** A generous per-test timeout: `base` on the host, scaled in the VM. */
export function timeout(base: number): number {
  return VM ? Math.max(base * 20, 600_000) : base;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const CG = '/sys/fs/cgroup';

/** The host drives cgroup v2 when /sys/fs/cgroup itself is the unified hierarchy. */
export const cgroupV2 = existsSync(join(CG, 'cgroup.controllers'));

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'freezer', 'devices', 'blkio'];

export type CgroupKnob = 'memory' | 'memsw' | 'pids.current' | 'pids.max' | 'pids.events' | 'cpu.stat' | 'cpu.quota' | 'cpuset.cpus' | 'procs';

// [v1 controller, v1 file, v2 file]
const KNOBS: Record<CgroupKnob, [string, string, string]> = {
  memory: ['memory', 'memory.limit_in_bytes', 'memory.max'],
  memsw: ['memory', 'memory.memsw.limit_in_bytes', 'memory.swap.max'],
  'pids.current': ['pids', 'pids.current', 'pids.current'],
  'pids.max': ['pids', 'pids.max', 'pids.max'],
  'pids.events': ['pids', 'pids.events', 'pids.events'],
  'cpu.stat': ['cpu', 'cpu.stat', 'cpu.stat'],
  'cpu.quota': ['cpu', 'cpu.cfs_quota_us', 'cpu.max'],
  'cpuset.cpus': ['cpuset', 'cpuset.cpus', 'cpuset.cpus'],
  procs: ['pids', 'cgroup.procs', 'cgroup.procs'],
};

/**
 * The file holding `knob` for container `id`: v1
 * /sys/fs/cgroup/<controller>/<parent>/<id>/<file>, v2
 * /sys/fs/cgroup/<parent>/<id>/<file>. Note that memsw is memory+swap on
 * v1 but swap alone on v2.
 */
export function cgroupFile(id: string, knob: CgroupKnob, parent = 'tsrun'): string {
  const [ctrl, v1, v2] = KNOBS[knob];
  return cgroupV2 ? join(CG, parent, id, v2) : join(CG, ctrl, parent, id, v1);
}

export function readCgroup(id: string, knob: CgroupKnob, parent = 'tsrun'): string {
  return readFileSync(cgroupFile(id, knob, parent), 'utf8').trim();
}

/** Every cgroup directory that exists for `id` (one on v2, one per hierarchy on v1). */
export function cgroupDirs(id: string, parent = 'tsrun'): string[] {
  const dirs = cgroupV2 ? [join(CG, parent, id)] : V1_CONTROLLERS.map((c) => join(CG, c, parent, id));
  return dirs.filter((d) => existsSync(d));
}

/** The parent's own directories (v2: one; v1: one per hierarchy) that exist. */
export function cgroupParentDirs(parent: string): string[] {
  const dirs = cgroupV2 ? [join(CG, parent)] : V1_CONTROLLERS.map((c) => join(CG, c, parent));
  return dirs.filter((d) => existsSync(d));
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
  } catch {
    return [];
  }
}

/** Pids of live tsrun-monitor processes whose command line mentions `text` (a sandbox's runroot, an id). */
export function monitorsFor(text: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const argv = cmdline(pid);
    if (argv[0]?.endsWith('tsrun-monitor') && argv.some((a) => a.includes(text)) && alive(pid)) out.push(pid);
  }
  return out;
}

/** Lines of our mount table that mention `text`. */
export function mountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(text));
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Container ids the sandbox has on disk (records under --root, instances under --runroot). */
export function diskIds(sb: Sandbox): string[] {
  return [...new Set([...listDir(join(sb.root, 'containers')), ...listDir(join(sb.runroot, 'containers'))])];
}

/** Pids recorded by the monitors of the sandbox's instances: "MONITOR CONTAINER". */
export function recordedPids(sb: Sandbox, id: string): { monitor: number; container: number } | null {
  try {
    const [monitor, container] = readFileSync(join(sb.runroot, 'containers', id, 'pids'), 'utf8').trim().split(' ').map(Number);
    return { monitor, container };
  } catch {
    return null;
  }
}

/** Processes in the container's cgroup, from the host's side. */
export function cgroupPids(id: string, parent = 'tsrun'): number[] {
  try {
    return readFileSync(cgroupFile(id, 'procs', parent), 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface Leftovers {
  stateDirs: string[];
  recordDirs: string[];
  names: string[];
  cgroups: string[];
  monitors: number[];
  mounts: string[];
}

/** What is left of the given containers (and of the sandbox as a whole: monitors, mounts). */
export function leftovers(sb: Sandbox, ids: string[], parent = 'tsrun'): Leftovers {
  return {
    stateDirs: listDir(join(sb.runroot, 'containers')),
    recordDirs: listDir(join(sb.root, 'containers')),
    names: listDir(join(sb.root, 'names')),
    cgroups: ids.flatMap((id) => cgroupDirs(id, parent)),
    monitors: monitorsFor(sb.runroot),
    mounts: [...mountsMentioning(sb.root), ...mountsMentioning(sb.runroot)],
  };
}

export const NOTHING: Leftovers = { stateDirs: [], recordDirs: [], names: [], cgroups: [], monitors: [], mounts: [] };

/** Polls `fn` until it returns a truthy value; throws with `what` on timeout. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, ms = slow(10_000), every = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** The container's json-file log, as text lines (stream-tagged), read straight from the file. */
export function logLines(sb: Sandbox, id: string): string[] {
  try {
    return readFileSync(join(sb.root, 'containers', id, 'container.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { log: string }).log.replace(/\n$/, ''));
  } catch {
    return [];
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InspectDoc = any;

/** `tsrun inspect REF...` parsed; expects it to succeed. */
export async function inspect(sb: Sandbox, ...refs: string[]): Promise<InspectDoc> {
  const r = await sb.tsrun(['inspect', ...refs]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const docs = JSON.parse(String(r.stdout)) as InspectDoc[];
  return refs.length === 1 ? docs[0] : docs;
}

/** `tsrun run -d --rootfs BUSYBOX ...args`; expects an id and returns it. */
export async function runDetached(sb: Sandbox, args: string[]): Promise<string> {
  const r = await sb.tsrun(['run', '-d', '--rootfs', busybox(), ...args]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/^[0-9a-f]{64}$/);
  return String(r.stdout);
}

/** `tsrun ps -a --no-trunc --format json`, parsed. */
export async function psAll(sb: Sandbox): Promise<Array<Record<string, string>>> {
  const r = await sb.tsrun(['ps', '-a', '--no-trunc', '--format', 'json']);
  expect(r.exitCode).toBe(0);
  return String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
}

/**
 * Sandboxes that are torn down after each test whatever happened in it:
 * `rm -f` of every container they hold, then, for anything that survived
 * that (a failing product), the monitors and container processes this test
 * started are SIGKILLed by pid, their cgroups removed, and the directory
 * deleted. Use `const sb = sandboxes.make()` in a test and
 * `afterEach(() => sandboxes.cleanup())`.
 */
export class Sandboxes {
  private live: Array<{ sb: Sandbox; parents: string[] }> = [];

  make(opts: { cgroupParents?: string[] } = {}): Sandbox {
    const sb = sandbox();
    this.live.push({ sb, parents: ['tsrun', ...(opts.cgroupParents ?? [])] });
    return sb;
  }

  async cleanup(): Promise<void> {
    const all = this.live.splice(0);
    for (const { sb, parents } of all) {
      const ids = diskIds(sb);
      if (ids.length) await sb.tsrun(['rm', '-f', ...ids]).catch(() => undefined);
      // Whatever the product left: kill what we started, by pid.
      const pids = new Set<number>(monitorsFor(sb.runroot));
      for (const id of ids) {
        const rec = recordedPids(sb, id);
        if (rec?.container) pids.add(rec.container);
        for (const p of parents) for (const pid of cgroupPids(id, p)) pids.add(pid);
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      for (const id of ids) {
        for (const p of parents) {
          for (const dir of cgroupDirs(id, p)) {
            for (let i = 0; i < 50; i++) {
              try {
                rmdirSync(dir);
                break;
              } catch {
                await sleep(20);
              }
            }
          }
        }
      }
      for (const p of parents.filter((x) => x !== 'tsrun')) {
        for (const dir of cgroupParentDirs(p)) {
          try {
            rmdirSync(dir);
          } catch {
            // not empty (or already gone)
          }
        }
      }
      sb.cleanup();
    }
  }
}

/** Reads the namespace link of a process (e.g. 'pid' → 'pid:[4026532...]'). */
export function nsOf(pid: number, ns: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return null;
  }
}

/** `argv` of a process, or [] when it is gone. */
export function argvOf(pid: number): string[] {
  return cmdline(pid);
}

/** Live processes holding an open fd on a container lock file under `runroot` (a CLI, or a process that inherited one). */
export function lockHolders(runroot: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith(`${runroot}/containers/`) && target.endsWith('/lock') && alive(Number(name))) {
        out.push(Number(name));
        break;
      }
    }
  }
  return out;
}
