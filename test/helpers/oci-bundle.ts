// Runs the real tsrun-oci (bin/tsrun-oci) against a throwaway
// --root, with bundles made from the busybox fixture, and checks what a
// container leaves in the cgroup hierarchies.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Options, type ResultPromise } from 'execa';
import { buildSpec } from '../../src/spec/build.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { busybox, repo } from './tsrun.js';

export const ociCli = join(repo, 'bin/tsrun-oci');

export interface OciSandbox {
  base: string;
  root: string;
  /** cgroup parent every bundle of this sandbox uses ("/<cgroupParent>/<id>"). */
  cgroupParent: string;
  /** `tsrun-oci --root ROOT ...args`, never throwing on a non-zero exit. */
  oci(args: string[], opts?: Options): ResultPromise;
  /**
   * For verbs that leave a container holding their stdio (create, run -d,
   * exec -d): stdout and stderr go to files, read back once the CLI exits,
   * so nothing waits for a pipe the container keeps open.
   */
  ociDetached(args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string; files: string[] }>;
  /** Writes BASE/bundles/<name>/config.json for busybox running `command`; returns the bundle dir. */
  bundle(name: string, command: string[], patch?: (spec: OciSpec) => void): Promise<string>;
  cleanup(): Promise<void>;
}

export function ociSandbox(): OciSandbox {
  const base = mkdtempSync(join(tmpdir(), 'tsrun-oci-test-'));
  const root = join(base, 'root');
  const cgroupParent = `tsrun-oci-test-${base.slice(-6)}`;
  const oci = (args: string[], opts: Options = {}) =>
    execa(process.execPath, ['--', ociCli, '--root', root, ...args], { reject: false, stdin: 'ignore', ...opts });
  let n = 0;
  return {
    base,
    root,
    cgroupParent,
    oci,
    async ociDetached(args) {
      const files = [join(base, `out.${++n}`), join(base, `err.${n}`)];
      // Real fds (execa's {file} targets are pipes execa drains itself).
      const fds = files.map((f) => openSync(f, 'w'));
      try {
        const child = spawn(process.execPath, ['--', ociCli, '--root', root, ...args], { stdio: ['ignore', fds[0], fds[1]] });
        const exitCode = await new Promise<number | undefined>((done) => child.on('exit', (code) => done(code ?? undefined)));
        const [stdout, stderr] = files.map((f) => readFileSync(f, 'utf8'));
        return { exitCode, stdout, stderr, files };
      } finally {
        fds.forEach((fd) => closeSync(fd));
      }
    },
    async bundle(name, command, patch) {
      const dir = join(base, 'bundles', name);
      mkdirSync(dir, { recursive: true });
      const spec = await buildSpec({ rootfs: busybox(), command }, { id: name, hostEnv: {} });
      spec.process.terminal = false;
      spec.linux!.cgroupsPath = `/${cgroupParent}/${name}`;
      patch?.(spec);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
      return dir;
    },
    async cleanup() {
      // Whatever a failed test left: delete --force every container, then the parent cgroup.
      const ids = existsSync(root) ? readdirSync(root) : [];
      for (const id of ids) await oci(['delete', '--force', id]);
      await removeCgroupDirs(cgroupParent);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Every /sys/fs/cgroup/<hierarchy>/<relPath> (or /sys/fs/cgroup/<relPath> on v2) that exists. */
export function cgroupDirs(relPath: string): string[] {
  const rel = relPath.replace(/^\/+/, '');
  const found: string[] = [];
  if (existsSync(join('/sys/fs/cgroup', rel))) found.push(join('/sys/fs/cgroup', rel));
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', h, rel);
    if (existsSync(p)) found.push(p);
  }
  return found;
}

/** rmdir relPath (and its sub-directories, deepest first) in every hierarchy, retrying while processes leave. */
export async function removeCgroupDirs(relPath: string): Promise<void> {
  const rmTree = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
    rmdirSync(dir);
  };
  for (let i = 0; i < 50; i++) {
    let busy = false;
    for (const dir of cgroupDirs(relPath)) {
      try {
        rmTree(dir);
      } catch {
        busy = true;
      }
    }
    if (!busy) return;
    await sleep(100);
  }
}

/** Polls `fn` until it returns true (or throws after timeoutMs). */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20)) {
    if (await fn()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}
