// A container's mount specs → what it records (Docker's Mounts entries) and
// the OCI mount entries of its spec. Volumes are created (and filled from
// the image) here, bind sources checked (--mount) or created (-v), and
// --volumes-from copied from another container's record. Everything that
// can be checked without changing anything is checked before anything is
// created, and what this creates is undone if the container is not made.
import { mkdir, stat } from 'node:fs/promises';
import { TsrunError } from '../errors.js';
import type { OciMount, OciSpec } from '../spec/oci.js';
import { copyUp } from './copy-up.js';
import { checkDuplicates, containerPath, type MountSpec, type Propagation, type VolumesFromSpec } from './flags.js';
import type { VolumeStore } from './store.js';

/** One mount as a container records it (Docker's inspect `Mounts` entry, plus what tsrun needs). */
export interface MountRecord {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Volumes only. */
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: 'local';
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** An anonymous volume: `rm -v` and `run --rm` remove it. */
  Anonymous?: boolean;
  /** tmpfs mount options. */
  Options?: string[];
}

export interface ContainerMounts {
  records: MountRecord[];
  /** HostConfig.Binds: the `-v` values that named a source. */
  binds: string[];
}

export interface PrepareContext {
  volumes: VolumeStore;
  /** The container's root filesystem (copy-up source). */
  rootfs: string;
  /** The image's VOLUME paths: each gets an anonymous volume unless another mount is there (Docker). */
  imageVolumes?: string[];
  /** --volumes-from: a container reference → its recorded mounts. */
  mountsOf: (ref: string) => Promise<MountRecord[]>;
}

export interface PreparedMounts extends ContainerMounts {
  oci: OciMount[];
  /** Undo: remove the volumes this call created. */
  rollback: () => Promise<void>;
}

/** The OCI entry for a recorded mount. */
export function ociMount(r: MountRecord): OciMount {
  if (r.Type === 'tmpfs') return { destination: r.Destination, type: 'tmpfs', source: 'tmpfs', options: [...(r.Options ?? [])] };
  return {
    destination: r.Destination,
    type: 'bind',
    source: r.Source,
    options: ['rbind', r.RW ? 'rw' : 'ro', r.Propagation || 'rprivate'],
  };
}

export async function prepareMounts(specs: MountSpec[], volumesFrom: VolumesFromSpec[], ctx: PrepareContext): Promise<PreparedMounts> {
  // Validate again: core callers need not come through the CLI parser.
  for (const s of specs) containerPath(s.target, 'mount');
  checkDuplicates(specs.map((s) => s.target));

  // Checks that change nothing: --volumes-from containers, --mount bind sources.
  const own = new Set(specs.map((s) => s.target));
  const inherited: MountRecord[] = [];
  for (const vf of volumesFrom) {
    for (const r of await ctx.mountsOf(vf.container)) {
      if (r.Type === 'tmpfs' || own.has(r.Destination)) continue;
      if (inherited.some((i) => i.Destination === r.Destination)) {
        throw new TsrunError('INVALID_ARGUMENT', `duplicate mount point: ${r.Destination} (from --volumes-from ${vf.container})`);
      }
      const rw = vf.mode ? vf.mode === 'rw' : r.RW;
      inherited.push({ ...r, RW: rw, Mode: vf.mode ?? r.Mode, Anonymous: undefined });
    }
  }
  // VOLUME paths of the image not covered by a mount of the user's.
  const covered = new Set([...own, ...inherited.map((i) => i.Destination)]);
  for (const raw of ctx.imageVolumes ?? []) {
    let target: string;
    try {
      target = containerPath(raw, `image VOLUME ${JSON.stringify(raw)}`);
    } catch {
      continue; // Docker skips what it cannot mount, too.
    }
    if (covered.has(target)) continue;
    covered.add(target);
    specs = [...specs, { type: 'volume', target, readonly: false, noCopy: false, mode: '' }];
  }
  for (const s of specs) {
    if (s.type !== 'bind' || s.createSource) continue;
    const st = await stat(s.source).catch(() => null);
    if (!st) throw new TsrunError('INVALID_ARGUMENT', `invalid mount config for type "bind": bind source path does not exist: ${s.source}`);
  }

  const created: string[] = [];
  const rollback = async () => {
    for (const name of created.reverse()) await ctx.volumes.rollback(name).catch(() => {});
  };
  const records: MountRecord[] = [];
  const binds: string[] = [];
  try {
    for (const s of specs) {
      if (s.type !== 'tmpfs' && s.bind) binds.push(s.bind);
      switch (s.type) {
        case 'bind':
          // Docker's -v creates a missing host directory.
          if (s.createSource && !(await stat(s.source).catch(() => null))) await mkdir(s.source, { recursive: true, mode: 0o755 });
          records.push({ Type: 'bind', Source: s.source, Destination: s.target, Mode: s.mode, RW: !s.readonly, Propagation: s.propagation });
          break;
        case 'volume': {
          const fill = s.noCopy ? undefined : (dir: string) => copyUp(ctx.rootfs, s.target, dir).then(() => {});
          const { info, created: made } = await ctx.volumes.prepare(s.name, { labels: s.labels, anonymous: s.name === undefined }, fill);
          if (made) created.push(info.Name);
          records.push({
            Type: 'volume', Name: info.Name, Source: info.Mountpoint, Destination: s.target, Driver: 'local', Mode: s.mode, RW: !s.readonly,
            Propagation: '', ...(s.name === undefined ? { Anonymous: true } : {}),
          });
          break;
        }
        case 'tmpfs':
          records.push({ Type: 'tmpfs', Source: '', Destination: s.target, Mode: '', RW: !s.options.includes('ro'), Propagation: '', Options: s.options });
          break;
      }
    }
  } catch (err) {
    await rollback();
    throw err;
  }
  const all = sortByDepth([...records, ...inherited]);
  return { records: all, binds, oci: all.map(ociMount), rollback };
}

/** Parents before children (Docker sorts mounts by path depth). */
function sortByDepth(records: MountRecord[]): MountRecord[] {
  const depth = (p: string) => p.split('/').length;
  return records.map((r, i) => ({ r, i })).sort((a, b) => depth(a.r.Destination) - depth(b.r.Destination) || a.i - b.i).map((x) => x.r);
}

/** Puts the user's mounts into the spec: a user mount replaces a default one at the same path (e.g. --tmpfs /dev/shm). */
export function applyMounts(spec: OciSpec, mounts: OciMount[]): void {
  if (mounts.length === 0) return;
  const targets = new Set(mounts.map((m) => m.destination));
  spec.mounts = [...(spec.mounts ?? []).filter((m) => !targets.has(m.destination)), ...mounts];
}

/** The volume names a container's mounts use. */
export function volumeNames(records: MountRecord[] | undefined): string[] {
  return (records ?? []).filter((r) => r.Type === 'volume' && r.Name).map((r) => r.Name!);
}

export type { Propagation };
