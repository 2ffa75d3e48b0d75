// A kernel facade for unit tests of the engine and Containers (no root):
// it records every spawn(config, options) and plays the native side's part
// with ordinary child processes, so /proc/PID/stat, signals and exits are
// real while nothing enters a namespace.
//
//   container  `sh -c 'printf x > FIFO; exec sleep 30'` when an exec fifo is
//              given (it writes the fifo once `start` opens it, as the real
//              process does before execve), else `sleep 30`; its pid is
//              written to every cgroupProcs file of the fake cgroup tree and
//              removed from them when it exits (the "kernel" part).
//   monitor    with options.monitor, another `sleep 30` that writes
//              exit.json into the --dir of its argv when the container exits
//              (as tsrun-monitor does), then goes away.
//
// cgroupWrite and attachDeviceFilter go to the fake cgroup tree.
// mknod makes fifos for real and an empty regular file in place of a device
// node (no root needed); xattrs live in a map by path; mount/umount are only
// recorded.
import { execFileSync, spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { native, type ExitStatus, type NativeBinding, type NativeContainerConfig, type NativeDeviceRule, type SpawnOptions, type SpawnResult } from '../../src/native/binding.js';
import type { FakeCgroupFs } from './fake-cgroupfs.js';

export interface SpawnCall {
  config: NativeContainerConfig;
  options: SpawnOptions;
  /** What config.stdio[0] was while spawn ran (the caller may close it afterwards). */
  stdin: { isCharDevice: boolean; rdev: number } | null;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class FakeNative implements NativeBinding {
  readonly calls: SpawnCall[] = [];
  /** The paths of each readTexts call. */
  readonly textReads: string[][] = [];
  readonly fifos: Array<{ path: string; mode: number }> = [];
  readonly sentFds: Array<{ socketPath: string; name: string }> = [];
  readonly waitedExec: number[] = [];
  readonly mknods: Array<{ path: string; mode: number; major: number; minor: number }> = [];
  /** Extended attributes set through lsetxattr, by path then name. */
  readonly xattrs = new Map<string, Map<string, Buffer>>();
  readonly mounts: Array<{ source: string | null; target: string; fstype: string | null; flags: number; data: string | null }> = [];
  readonly umounts: Array<{ target: string; flags: number }> = [];
  /** Thrown by the next mount calls. */
  mountError: unknown = null;
  /** Thrown by the next spawns (a set-up failure before anything started). */
  spawnError: unknown = null;
  /** With keepSync, hand out a sync fd (/dev/null) that waitExec closes. */
  giveSyncFd = false;
  /** Thrown by waitExec: a set-up step after the exec fifo failed (user, cwd, execve). */
  execError: unknown = null;
  /** The monitor records exit.json when the container exits. */
  recordExits = true;
  /** Every child started, by pid. */
  readonly children = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, Promise<ChildExit>>();

  constructor(private readonly cg: FakeCgroupFs) {}

  spawn(config: NativeContainerConfig, options: SpawnOptions = {}): SpawnResult {
    let stdin: SpawnCall['stdin'] = null;
    if (config.stdio[0] >= 0) {
      try {
        const st = fstatSync(config.stdio[0]);
        stdin = { isCharDevice: st.isCharacterDevice(), rdev: st.rdev };
      } catch {
        stdin = null;
      }
    }
    this.calls.push({ config: structuredClone(config), options: structuredClone(options), stdin });
    if (this.spawnError) throw this.spawnError;

    const container = options.execFifo
      ? this.startChild('sh', ['-c', 'printf x > "$1"; exec sleep 30', 'sh', options.execFifo])
      : this.startChild('sleep', ['30']);
    const pid = container.pid!;
    for (const file of options.cgroupProcs ?? []) this.cg.native.cgroupWrite(file, String(pid));

    let monitorPid = 0;
    if (options.monitor) {
      const monitor = this.startChild('sleep', ['30']);
      monitorPid = monitor.pid!;
      const argv = options.monitor.argv;
      const dir = argv[argv.indexOf('--dir') + 1];
      void this.exited(pid).then(({ code, signal }) => {
        if (this.recordExits) {
          const sig = signal ? signalNumber(signal) : 0;
          const exit = { exitCode: sig ? 128 + sig : (code ?? 0), signal: sig, finishedAt: new Date().toISOString(), oomKilled: false };
          if (existsSync(dir)) writeFileSync(path.join(dir, 'exit.json'), `${JSON.stringify(exit)}\n`);
        }
        monitor.kill('SIGTERM');
      });
    }
    const syncFd = options.keepSync && this.giveSyncFd ? openSync('/dev/null', 'r') : -1;
    return { pid, ptyMaster: -1, monitorPid, syncFd };
  }

  /** A process the test puts into the container's cgroup by hand (a process the container forked). */
  extraProcess(procsFiles: string[]): number {
    const child = this.startChild('sleep', ['30']);
    for (const file of procsFiles) this.cg.native.cgroupWrite(file, String(child.pid));
    return child.pid!;
  }

  /** Resolves when the child exits (how: exit code or signal). */
  exited(pid: number): Promise<ChildExit> {
    const p = this.exits.get(pid);
    if (!p) throw new Error(`fake native: ${pid} is not a child it started`);
    return p;
  }

  /** True while a child the fake started has not exited. */
  alive(pid: number): boolean {
    const c = this.children.get(pid);
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  async waitExit(pid: number): Promise<ExitStatus> {
    const { code, signal } = await this.exited(pid);
    return { exitCode: code, signal: signal ? signalNumber(signal) : null };
  }

  waitExec(syncFd: number): void {
    this.waitedExec.push(syncFd);
    closeSync(syncFd);
    if (this.execError) throw this.execError;
  }

  probeNamespace(): number {
    return 0;
  }

  setWinsize(): void {}

  /** Locks are always free: a unit test runs one call at a time. */
  flock(): boolean {
    return true;
  }

  mkfifo(p: string, mode: number): void {
    this.fifos.push({ path: p, mode });
    execFileSync('mkfifo', ['-m', mode.toString(8), p]);
  }

  sendFd(socketPath: string, _fd: number, name: string): void {
    this.sentFds.push({ socketPath, name });
  }

  cgroupWrite(p: string, value: string): void {
    this.cg.native.cgroupWrite(p, value);
  }

  attachDeviceFilter(dir: string, rules: NativeDeviceRule[]): void {
    this.cg.native.attachDeviceFilter(dir, rules);
  }

  mknod(p: string, mode: number, dev: { major: number; minor: number }): void {
    this.mknods.push({ path: p, mode, major: dev.major, minor: dev.minor });
    const type = mode & 0o170000;
    if (type === 0o010000) execFileSync('mkfifo', ['-m', (mode & 0o7777).toString(8), p]);
    else writeFileSync(p, '', { flag: 'wx', mode: mode & 0o7777 });
  }

  lsetxattr(p: string, name: string, value: Buffer): void {
    let m = this.xattrs.get(p);
    if (!m) this.xattrs.set(p, (m = new Map()));
    m.set(name, Buffer.from(value));
  }

  lgetxattr(p: string, name: string): Buffer | null {
    return this.xattrs.get(p)?.get(name) ?? null;
  }

  llistxattr(p: string): string[] {
    return [...(this.xattrs.get(p)?.keys() ?? [])];
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.mounts.push({ source, target, fstype, flags, data });
    if (this.mountError) throw this.mountError;
  }

  umount(target: string, flags: number): void {
    this.umounts.push({ target, flags });
  }

  readonly compiled: unknown[] = [];
  readonly hookRuns: Array<{ phase: string; pid: number; paths: string[]; state: string }> = [];

  /** A stand-in program (one BPF "return ALLOW" per compile), recorded. */
  seccompCompile(seccomp: unknown): Buffer {
    this.compiled.push(seccomp);
    return Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
  }

  seccompInfo(): { libseccomp: string; kernel: boolean; apiLevel: number; program: number } {
    return { libseccomp: 'fake', kernel: true, apiLevel: 6, program: 1 };
  }

  runHooks(hooks: Array<{ path: string }>, phase: string, pid: number, stateRest: string): void {
    this.hookRuns.push({ phase, pid, paths: hooks.map((h) => h.path), state: `{"pid":${pid},${stateRest}` });
  }

  /** Files are real: read as the real facade reads them (the files addon); each call's paths recorded. */
  readTexts(paths: string[]): (string | null)[] {
    this.textReads.push([...paths]);
    return native.readTexts(paths);
  }

  /** SIGKILLs every child still running and waits for them. */
  async cleanup(): Promise<void> {
    for (const [pid, child] of this.children) {
      if (this.alive(pid)) child.kill('SIGKILL');
    }
    await Promise.all(this.exits.values());
  }

  private startChild(cmd: string, args: string[]): ChildProcess {
    const child = spawnChild(cmd, args, { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error(`fake native: cannot start ${cmd}`);
    const pid = child.pid;
    this.children.set(pid, child);
    this.exits.set(
      pid,
      new Promise<ChildExit>((resolve) => {
        child.once('exit', (code, signal) => {
          // The kernel takes a dead process out of its cgroup.
          this.dropFromCgroups(pid);
          resolve({ code, signal });
        });
      }),
    );
    return child;
  }

  private dropFromCgroups(pid: number): void {
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name === 'cgroup.procs' || e.name === 'tasks') {
          const text = readFileSync(p, 'utf8');
          const kept = text.split('\n').filter((l) => l !== '' && l !== String(pid));
          if (kept.length !== text.split('\n').filter((l) => l !== '').length) writeFileSync(p, kept.map((l) => `${l}\n`).join(''));
        }
      }
    };
    walk(this.cg.root);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}
