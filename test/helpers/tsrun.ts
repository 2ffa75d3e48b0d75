// Runs the real CLI (bin/tsrun, as installed: the bundle when it is built) against a throwaway --root/--runroot,
// the way a user would, and gives integration tests the skip reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type ResultPromise } from 'execa';
import { inject } from 'vitest';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(repo, 'bin/tsrun');

/** Empty when integration tests can run; otherwise why not (printed once per file). */
export function integrationSkipReason(file: string): string {
  const reason = inject('integrationSkip');
  if (reason) process.stderr.write(`[skip] ${file}: ${reason}\n`);
  return reason;
}

/**
 * A tar of a fixture directory. Other tests run `--rootfs` containers on the
 * same fixture meanwhile, and the runtime's mount points touch its
 * directories (their times): GNU tar then warns "file changed as we read it"
 * and exits 1, which is no reason to fail; 2 and up are real errors.
 */
export function fixtureTar(dir: string, extra: string[] = []): Buffer {
  const r = spawnSync('tar', ['-C', dir, '--warning=no-file-changed', ...extra, '-c', '.'], { maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`tar of ${dir} failed (${r.status ?? r.signal}): ${String(r.stderr)}`);
  return r.stdout;
}

/** Whether the host has this command. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Empty when the host has these commands; otherwise which are missing and how to get them (printed once per file). */
export function missingTools(file: string, tools: string[], packages: string): string {
  const missing = tools.filter((t) => !hasTool(t));
  const reason = missing.length ? `missing tools: ${missing.join(', ')} (apt-get install ${packages})` : '';
  if (reason) process.stderr.write(`[skip] ${file}: ${reason}\n`);
  return reason;
}

export function busybox(): string {
  return inject('busyboxRootfs');
}

export interface Sandbox {
  root: string;
  runroot: string;
  /** Spawns `tsrun --root R --runroot RR ...args` without throwing on a non-zero exit. */
  tsrun(args: string[], opts?: Options): ResultPromise;
  /** `tsrun run --rm --rootfs BUSYBOX ...args`. */
  run(args: string[], opts?: Options): ResultPromise;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'tsrun-test-'));
  const root = join(base, 'root');
  const runroot = join(base, 'run');
  const tsrun = (args: string[], opts: Options = {}) =>
    execa('node', ['--', cli, '--root', root, '--runroot', runroot, ...args], { reject: false, ...(opts.stdio || opts.input !== undefined || opts.stdin ? {} : { stdin: 'ignore' as const }), ...opts });
  return {
    root,
    runroot,
    tsrun,
    run: (args, opts) => tsrun(['run', '--rm', '--rootfs', busybox(), ...args], opts),
    cleanup: () => {
      // Containers kept without --rm still own a cgroup: remove them the
      // way a user would before the directories go.
      let ids: string[] = [];
      try {
        ids = readdirSync(join(root, 'containers')).filter((id) => /^[0-9a-f]{64}$/.test(id));
      } catch {
        // no container was ever made
      }
      if (ids.length) spawnSync('node', ['--', cli, '--root', root, '--runroot', runroot, 'rm', '-f', ...ids], { stdio: 'ignore' });
      removeNetworks(root, runroot);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Waits until the sandbox's only container has a recorded pid, and returns it. */
export async function containerPid(sb: Sandbox, timeoutMs = 5000): Promise<number> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = join(sb.root, 'containers');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    try {
      const [id] = readdirSync(dir);
      const state = JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8'));
      if (state.pid) return state.pid as number;
    } catch {
      // not written yet
    }
  }
  throw new Error(`no container pid recorded under ${dir}`);
}

/**
 * Bridge devices and nft rules are host-wide: a throwaway root's networks
 * (its default `bridge` too) are removed the way a user would, after its
 * containers.
 */
export function removeNetworks(root: string, runroot: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(join(root, 'networks'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return; // no network was ever made
  }
  if (!names.length) return;
  const r = spawnSync('node', ['--', cli, '--root', root, '--runroot', runroot, 'network', 'rm', '-f', ...names], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`[cleanup] removing the networks of ${root} failed: ${r.stderr}\n`);
}
