// A throwaway Podman that drives tsrun-oci: its own storage, runroot,
// tmp_dir, events log and network config under one temp dir, a
// containers.conf naming tsrun-oci as the runtime, and a wrapper script
// that records every argv Podman/conmon hands the runtime.
//
// What this host needed beyond the obvious flags (see the report in
// podman.test.ts): nproc in default_ulimits (the container's rlimits may not
// exceed ours: no CAP_SYS_RESOURCE here), seccomp_profile = "unconfined"
// (tsrun-oci refuses a seccomp profile it cannot apply), and a cgroup parent
// of our own so the test can remove what Podman leaves (its conmon cgroup).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { ociCli, removeCgroupDirs } from './oci-bundle.js';

export const IMAGE = 'localhost/tsrun-busybox:test';

/** Empty when podman and conmon can be run; otherwise why not. */
export function podmanMissing(): string {
  for (const tool of ['podman', 'conmon']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return '';
}

// Paths Podman (as root) creates whatever its configuration says: the
// netavark run dir and containers/image's blob-info cache. Removed at the
// end only when this test created them.
const HOST_SIDE_EFFECTS = ['/run/containers', '/var/lib/containers'];

export interface PodmanSandbox {
  base: string;
  cgroupParent: string;
  /** `podman --root ... --runtime WRAPPER ...args` with our CONTAINERS_CONF; never throws on exit codes. */
  podman(args: string[], opts?: Options): Promise<Result>;
  /** `tar -C dir -c . | podman import - IMAGE` */
  importImage(dir: string): Promise<Result>;
  /** argv of every tsrun-oci call so far, one string each. */
  runtimeCalls(): string[];
  /** tsrun-oci's --log (JSON lines). */
  runtimeLog(): Array<{ level: string; msg: string; time: string }>;
  /** Directories under tsrun-oci's --root (containers it still knows). */
  ociRoot: string;
  cleanup(): Promise<void>;
}

export function podmanSandbox(): PodmanSandbox {
  const base = mkdtempSync(join(tmpdir(), 'tsrun-podman-'));
  const cgroupParent = `tsrun-podman-${base.slice(-6)}`;
  const ociRoot = join(base, 'oci-root');
  const preexisting = HOST_SIDE_EFFECTS.filter((p) => existsSync(p));
  const wrapper = join(base, 'tsrun-oci');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> '${base}/argv.log'`,
      `exec '${process.execPath}' -- '${ociCli}' --root '${ociRoot}' --log '${base}/oci-log.json' --log-format json "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  const conf = join(base, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "none"',
      'seccomp_profile = "unconfined"',
      '[engine]',
      'runtime = "tsrun"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${base}/events.log"`,
      `tmp_dir = "${base}/tmp"`,
      '[engine.runtimes]',
      `tsrun = ["${wrapper}"]`,
      '[network]',
      `network_config_dir = "${base}/networks"`,
      '',
    ].join('\n'),
  );
  const global = [
    '--root', join(base, 'storage'), '--runroot', join(base, 'run'), '--runtime', wrapper,
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
  ];
  const podman = (args: string[], opts: Options = {}) =>
    execa('podman', [...global, ...args], {
      reject: false,
      stdin: 'ignore',
      env: { CONTAINERS_CONF: conf },
      ...opts,
    }) as unknown as Promise<Result>;
  const importImage = async (dir: string) =>
    (await execa('tar', ['-C', dir, '-c', '.']).pipe('podman', [...global, 'import', '-', IMAGE], {
      reject: false,
      env: { CONTAINERS_CONF: conf },
    })) as unknown as Result;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return {
    base,
    cgroupParent,
    ociRoot,
    podman,
    importImage,
    runtimeCalls: () => read(join(base, 'argv.log')).split('\n').filter(Boolean),
    runtimeLog: () => read(join(base, 'oci-log.json')).split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    async cleanup() {
      await podman(['rm', '--all', '--force', '--time', '0']);
      await podman(['rmi', '--all', '--force']);
      // containers/storage may keep its overlay dir mounted; unmount
      // everything under base, deepest first, before deleting it.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m): m is string => !!m && (m === base || m.startsWith(`${base}/`)))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
      rmSync(base, { recursive: true, force: true });
      await removeCgroupDirs(cgroupParent);
      for (const p of HOST_SIDE_EFFECTS) if (!preexisting.includes(p)) rmSync(p, { recursive: true, force: true });
    },
  };
}
