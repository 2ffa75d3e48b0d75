// Where cp finds a container's files, and whose ids they carry there.
//
// A running (or paused) container: /proc/PID/root of its first process.
// That is the container's own root in its own mount namespace, with every
// mount it has — named volumes, bind mounts, tmpfs, its /etc files — so a
// path resolves to what the container itself sees at that path, which is
// what Docker's cp promises. Docker gets there by mounting the volumes
// onto the rootfs on the daemon's side; going through /proc/PID/root needs
// no mounting at all, stays right while the container's mounts change, and
// never puts the container's mounts in the host's table. Kernel
// filesystems found there (its /proc, /sys, cgroups) are refused
// (fd.ts). The pid is checked again once the root is open: if the
// container still runs as that pid, the descriptor is its root.
//
// Otherwise (created, exited): the root filesystem as `export` reaches it
// (image/archive/export.ts): the container's overlay, mounted on the host
// if it is not (it then stays mounted until the container is removed, as
// export and start leave it: unmounting under a `start` that is about to use it
// would pull the rootfs from under that container), or a --rootfs
// directory. Volumes of a stopped container are not reached (they are
// mounted only while it runs): a path below a volume's mount point names
// the rootfs's own directory there.
//
// Ids: cp's entries carry the container's ids (what `ls -n` inside shows).
// Through /proc/PID/root the kernel shows host ids (an idmapped rootfs and
// unmapped volumes alike), turned back with the process's uid_map/gid_map;
// the overlay on the host shows the container's ids as they are on disk
// (an idmapped rootfs keeps them unshifted), so no mapping applies there.
import fs from 'node:fs';
import { TsrunError } from '../errors.js';
import { containerRootfsDir, type ExportDeps } from '../image/archive/export.js';
import type { NativeBinding } from '../native/binding.js';
import { InRoot } from './resolve.js';

/** What cp needs: the containers and images (as export), and the kernel calls to read and write files' metadata. */
export interface CopyDeps extends ExportDeps {
  native: Pick<NativeBinding, 'llistxattr' | 'lgetxattr' | 'lsetxattr' | 'mknod'>;
}

interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

// The kernel's overflow ids: what an unmapped id reads as.
const OVERFLOW_ID = 65534;

/** A user namespace's id maps (identity when there is none). */
export class IdMap {
  constructor(
    private readonly uids: IdRange[],
    private readonly gids: IdRange[],
  ) {}

  static readonly identity = new IdMap([{ inside: 0, outside: 0, count: 2 ** 32 }], [{ inside: 0, outside: 0, count: 2 ** 32 }]);

  /** /proc/PID/uid_map and gid_map ("inside outside count" lines). */
  static ofProcess(pid: number): IdMap {
    const parse = (file: string): IdRange[] =>
      fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
        const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
        return { inside, outside, count };
      });
    return new IdMap(parse('uid_map'), parse('gid_map'));
  }

  private static map(ranges: IdRange[], id: number, from: 'inside' | 'outside'): number | undefined {
    const to = from === 'inside' ? 'outside' : 'inside';
    for (const r of ranges) if (id >= r[from] && id - r[from] < r.count) return r[to] + (id - r[from]);
    return undefined;
  }

  /** Container ids → the ids to write on disk through this root; an id the namespace does not map is an error. */
  toDisk(uid: number, gid: number): [number, number] {
    const u = IdMap.map(this.uids, uid, 'inside');
    const g = IdMap.map(this.gids, gid, 'inside');
    if (u === undefined || g === undefined) {
      throw new TsrunError('INVALID_ARGUMENT', `owner ${uid}:${gid} is not mapped in the container's user namespace`);
    }
    return [u, g];
  }

  /** Ids on disk → the container's ids (the overflow id 65534 for one it does not map, as the kernel shows it). */
  toContainer(uid: number, gid: number): [number, number] {
    return [IdMap.map(this.uids, uid, 'outside') ?? OVERFLOW_ID, IdMap.map(this.gids, gid, 'outside') ?? OVERFLOW_ID];
  }
}

/** A container's files, open for cp. */
export interface ContainerFs {
  id: string;
  root: InRoot;
  ids: IdMap;
  /** Reached through its running process (volumes and bind mounts included). */
  running: boolean;
  /** A stopped container made with --read-only: its rootfs must not be written. */
  readOnly: boolean;
  close(): void;
}

/** Opens the root of container `ref` (a name, id or id prefix). */
export async function openContainerFs(deps: CopyDeps, ref: string): Promise<ContainerFs> {
  const id = await deps.containers.resolve(ref);
  for (let attempt = 0; attempt < 3; attempt++) {
    const view = await deps.containers.view(id);
    if ((view.status === 'running' || view.status === 'paused') && view.pid > 0) {
      let root: InRoot;
      let ids: IdMap;
      try {
        root = InRoot.open(`/proc/${view.pid}/root`);
        ids = IdMap.ofProcess(view.pid);
      } catch {
        continue; // exited meanwhile: look again
      }
      const again = await deps.containers.view(id);
      if ((again.status === 'running' || again.status === 'paused') && again.pid === view.pid) {
        return { id, root, ids, running: true, readOnly: false, close: () => root.close() };
      }
      root.close();
      continue;
    }
    const dir = await containerRootfsDir(deps, id);
    if (!dir) throw new TsrunError('INVALID_STATE', `container ${ref} has no root filesystem`);
    const root = InRoot.open(dir);
    return { id, root, ids: IdMap.identity, running: false, readOnly: !!view.spec.root?.readonly, close: () => root.close() };
  }
  throw new TsrunError('INVALID_STATE', `container ${ref} kept starting and stopping while cp looked at it`);
}
