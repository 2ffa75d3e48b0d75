// A throwaway Podman that drives tsrun-oci: its own storage, runroot,
// tmp_dir, events log and network config under one temp dir, a
// containers.conf naming tsrun-oci as the runtime, and a wrapper script
// that records every argv Podman/conmon hands the runtime.
//
// The containers.conf is the stock one (Podman's default seccomp profile,
// default sysctls, capabilities and masked paths all left on) with only
// what this host needs on top: the runtime entry pointing at the wrapper,
// nproc and nofile in default_ulimits (the container's rlimits may not
// exceed ours: no CAP_SYS_RESOURCE here), the cgroupfs manager (no systemd),
// file events, and storage, tmp and network config under the temp dir.
// Tests pass a cgroup parent of their own so they can remove what Podman
// leaves (its conmon cgroup). The wrapper also keeps a copy of every
// bundle's config.json (BASE/configs/<id>.json) to show what Podman sent.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { ociCli, removeCgroupDirs } from './oci-bundle.js';
import { fixtureTar } from './tsrun.js';

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
  /** The config.json of every bundle Podman created, by container id. */
  bundleConfigs(): Record<string, Record<string, any>>;
  /** tsrun-oci's --log (JSON lines). */
  runtimeLog(): Array<{ level: string; msg: string; time: string }>;
  /** tsrun-oci's --root. */
  ociRoot: string;
  /** Containers tsrun-oci still knows: the entries of --root but its caches (dot names, e.g. .seccomp). */
  ociContainers(): string[];
  cleanup(): Promise<void>;
}

/** The distribution's containers.conf, read by Podman unless CONTAINERS_CONF names another file. */
export const STOCK_CONF = '/usr/share/containers/containers.conf';

/**
 * The stock containers.conf with `settings` added under their tables.
 * CONTAINERS_CONF makes Podman read that one file instead of the stock one,
 * so the stock text is copied (its default_capabilities and default_sysctls
 * included) and each line is inserted right after its table header; a
 * table the stock file lacks is appended.
 */
export function withStockConf(settings: Record<string, string[]>, stock = STOCK_CONF): string {
  const lines = existsSync(stock) ? readFileSync(stock, 'utf8').split('\n') : [];
  const pending = new Map(Object.entries(settings));
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    const table = /^\s*\[([^\]]+)\]\s*$/.exec(line)?.[1];
    if (table && pending.has(table)) {
      out.push(...pending.get(table)!);
      pending.delete(table);
    }
  }
  for (const [table, entries] of pending) out.push(`[${table}]`, ...entries);
  return `${out.join('\n')}\n`;
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
      // create --bundle DIR ... ID: keep DIR/config.json as configs/ID.json.
      'if [ "$1" = create ]; then b=; for a in "$@"; do [ "$p" = --bundle ] && b=$a; p=$a; done',
      `  [ -n "$b" ] && mkdir -p '${base}/configs' && cp "$b/config.json" '${base}/configs/'"$p.json"; fi`,
      `exec '${process.execPath}' -- '${ociCli}' --root '${ociRoot}' --log '${base}/oci-log.json' --log-format json "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  const conf = join(base, 'containers.conf');
  writeFileSync(
    conf,
    withStockConf({
      containers: ['default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]'],
      engine: [
        'runtime = "tsrun"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${base}/events.log"`,
        `tmp_dir = "${base}/tmp"`,
      ],
      'engine.runtimes': [`tsrun = ["${wrapper}"]`],
      network: [`network_config_dir = "${base}/networks"`],
    }),
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
    (await execa('podman', [...global, 'import', '-', IMAGE], {
      input: fixtureTar(dir),
      reject: false,
      env: { CONTAINERS_CONF: conf },
    })) as unknown as Result;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return {
    base,
    cgroupParent,
    ociRoot,
    ociContainers: () => (existsSync(ociRoot) ? readdirSync(ociRoot).filter((n) => !n.startsWith('.')) : []),
    podman,
    importImage,
    runtimeCalls: () => read(join(base, 'argv.log')).split('\n').filter(Boolean),
    bundleConfigs: () => {
      const dir = join(base, 'configs');
      const ids = existsSync(dir) ? readdirSync(dir) : [];
      return Object.fromEntries(ids.map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8'))]));
    },
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
