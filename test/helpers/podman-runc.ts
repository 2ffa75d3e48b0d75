// A throwaway Podman for image interop tests (build, push, pull): its own
// storage, runroot and config, runtime runc (this is about images, not
// tsrun-oci; oci-podman.ts is the one that drives tsrun-oci), and the
// ulimits this host allows (no CAP_SYS_RESOURCE here). Everything it makes
// lives under one temp dir and goes with cleanup(); a box whose test
// process was killed before its cleanup goes with the next box made.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync, type Options, type Result } from 'execa';
import { pidStartTime } from '../../src/runtime/proc.js';
import { cgroupDirs } from './oci-bundle.js';
import { fixtureTar } from './tsrun.js';

export interface PodmanBox {
  base: string;
  /** `podman --root ... ARGS` with this box's containers.conf; never throws on exit codes. */
  podman(args: string[], opts?: Options): Promise<Result>;
  /** The busybox tree as IMAGE in this box's storage. */
  importTree(dir: string, image: string): Promise<Result>;
  /** An image's config blob as stored (`podman image inspect` leaves out Shell, Healthcheck and OnBuild). */
  rawConfig(image: string): Promise<{ config?: Record<string, unknown>; author?: string }>;
  cleanup(): Promise<void>;
}

// Paths Podman (as root) creates whatever its configuration says; removed at
// the end only when this box created them.
const HOST_SIDE_EFFECTS = ['/run/containers', '/var/lib/containers'];

export function podmanBox(prefix = 'tsrun-podman-'): PodmanBox {
  sweepDeadBoxes(prefix);
  const base = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(base, OWNER), ownerOf(process.pid));
  const preexisting = HOST_SIDE_EFFECTS.filter((p) => existsSync(p));
  const conf = join(base, 'containers.conf');
  writeFileSync(conf, [
    '[containers]',
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    'netns = "none"',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${base}/events.log"`,
    `tmp_dir = "${base}/tmp"`,
    '[network]',
    `network_config_dir = "${base}/networks"`,
    '',
  ].join('\n'));
  const { storage, runroot, env, podman } = boxPodman(base);
  return {
    base,
    podman,
    importTree: (dir, image) => {
      const tar = fixtureTar(dir, ['--exclude=./.tsrun-fixture']);
      return podman(['import', '-c', 'CMD ["sh"]', '-', image], { input: tar });
    },
    async rawConfig(image) {
      const r = await execa('skopeo', ['inspect', '--raw', '--config', `containers-storage:[overlay@${storage}+${runroot}]${image}`], { reject: false, env });
      if (r.exitCode !== 0) throw new Error(`skopeo inspect ${image}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { config?: Record<string, unknown>; author?: string };
    },
    async cleanup() {
      removeBox(base);
      for (const p of HOST_SIDE_EFFECTS) if (!preexisting.includes(p)) rmSync(p, { recursive: true, force: true });
      // Podman (cgroupfs) never removes the libpod_parent/conmon cgroups it
      // makes; take them once empty (another box's live conmon keeps them).
      for (const dir of cgroupDirs('libpod_parent')) {
        for (const d of [join(dir, 'conmon'), dir]) {
          try {
            rmdirSync(d);
          } catch {
            // busy or gone
          }
        }
      }
    },
  };
}

/** Podman on a box's storage, with its containers.conf. */
function boxPodman(base: string) {
  const storage = join(base, 'storage');
  const runroot = join(base, 'run');
  const global = ['--root', storage, '--runroot', runroot, '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const env = { CONTAINERS_CONF: join(base, 'containers.conf'), TMPDIR: base, BUILDAH_ISOLATION: 'oci' };
  const podman = (args: string[], opts: Options = {}) =>
    execa('podman', [...global, ...args], { reject: false, ...(opts.input === undefined ? { stdin: 'ignore' as const } : {}), env, ...opts }) as unknown as Promise<Result>;
  const podmanSync = (args: string[]) => execaSync('podman', [...global, ...args], { reject: false, stdin: 'ignore', env });
  return { storage, runroot, env, podman, podmanSync };
}

/** A box's containers and images, then the mounts podman's overlay driver leaves under it, then the tree. */
function removeBox(base: string): void {
  const { podmanSync } = boxPodman(base);
  podmanSync(['rm', '--all', '--force', '--time', '0']);
  podmanSync(['rmi', '--all', '--force']);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === base || m.startsWith(`${base}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execaSync('umount', ['-l', m], { reject: false });
  rmSync(base, { recursive: true, force: true });
}

// Which test process a box belongs to: its pid and start time (a pid alone
// may be reused by the time a later run looks).
const OWNER = 'owner';
const ownerOf = (pid: number) => `${pid} ${pidStartTime(pid)}`;

/**
 * Boxes with this prefix whose test process is gone: killed before its
 * cleanup (a timeout, a Ctrl-C), it left podman's overlay mounts and
 * storage behind. Boxes of a live process, and boxes without an owner
 * file (nothing says whose they are), are left alone.
 */
function sweepDeadBoxes(prefix: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const base = join(tmpdir(), name);
    let owner: string;
    try {
      owner = readFileSync(join(base, OWNER), 'utf8');
    } catch {
      continue;
    }
    if (owner === ownerOf(Number(owner.split(' ')[0]))) continue;
    removeBox(base);
  }
}
