// A spec's user namespace, checked and translated for the addon: the id
// maps the parent writes (linux.uidMappings/gidMappings), and whether the
// rootfs is presented through an idmapped mount (native/src/userns.cc).
//
// Without the ROOTFS_IDMAP_ANNOTATION the rootfs is used as it is, as runc
// does: whoever prepared the bundle made it fit the mappings (Podman,
// containerd). tsrun's own containers carry the annotation (spec/userns.ts
// sets it), because their image layers are shared and must never be
// chowned: "true" idmaps the rootfs tree itself; a JSON object
// {"lower":[...],"upper":"...","work":"..."} names the overlay layers to
// rebuild it from (an overlay cannot be idmapped as a whole; its layers can).
import { dirname, basename, isAbsolute } from 'node:path';
import { NativeSystemError, TsrunError } from '../errors.js';
import type { NativeIdmapRootfs, NativeUserns } from '../native/types.js';
import type { LinuxIdMapping, OciSpec } from '../spec/oci.js';

export const ROOTFS_IDMAP_ANNOTATION = 'org.tsrun.rootfs.idmap';

/** The overlay a rootfs is built from, as ROOTFS_IDMAP_ANNOTATION carries it. */
export interface RootfsLayers {
  /** Lower dirs, top first (as overlay's lowerdir lists them). */
  lower: string[];
  upper: string;
  /** A work dir for the idmapped overlay only (the host's overlay of the same upper keeps its own), beside upper. */
  work: string;
}

// The kernel takes at most this many lines per map (since Linux 4.15).
const MAX_MAP_LINES = 340;
const ID_LIMIT = 2 ** 32 - 1; // (uid_t)-1 is never a valid id

/** Checks one map as the kernel would, with messages that name the field. */
export function checkMappings(maps: LinuxIdMapping[] | undefined, what: 'uidMappings' | 'gidMappings'): LinuxIdMapping[] {
  if (!Array.isArray(maps) || maps.length === 0) {
    throw new TsrunError('INVALID_ARGUMENT', `user namespaces enabled, but no ${what === 'uidMappings' ? 'uid' : 'gid'} mappings found (linux.${what})`);
  }
  if (maps.length > MAX_MAP_LINES) throw new TsrunError('INVALID_ARGUMENT', `linux.${what} has ${maps.length} entries; the kernel takes at most ${MAX_MAP_LINES}`);
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < ID_LIMIT;
  for (const m of maps) {
    if (!m || !isId(m.containerID) || !isId(m.hostID) || !isId(m.size) || m.size < 1) {
      throw new TsrunError('INVALID_ARGUMENT', `linux.${what}: invalid mapping ${JSON.stringify(m)} (containerID, hostID and size must be integers, size at least 1)`);
    }
    if (m.containerID + m.size > ID_LIMIT || m.hostID + m.size > ID_LIMIT) {
      throw new TsrunError('INVALID_ARGUMENT', `linux.${what}: mapping ${JSON.stringify(m)} goes past the largest id ${ID_LIMIT - 1}`);
    }
  }
  for (const side of ['containerID', 'hostID'] as const) {
    const sorted = [...maps].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i - 1][side] + sorted[i - 1].size > sorted[i][side]) {
        throw new TsrunError('INVALID_ARGUMENT', `linux.${what}: the ${side === 'hostID' ? 'host' : 'container'} ranges of ${JSON.stringify(sorted[i - 1])} and ${JSON.stringify(sorted[i])} overlap`);
      }
    }
  }
  return maps;
}

export function mapText(maps: LinuxIdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** The host id that container id `id` maps to, or undefined. */
export function hostIdOf(maps: LinuxIdMapping[], id: number): number | undefined {
  const m = maps.find((r) => id >= r.containerID && id < r.containerID + r.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

/**
 * The user namespace of a spec for toNativeConfig: null without one or
 * when it is joined by path (the namespace has its maps already). With
 * namespaces joined by path as well, the addon joins them first and makes
 * the user namespace and the other new ones after (runc's order).
 */
export function nativeUserns(spec: OciSpec, newUserns: boolean, joined: string[]): NativeUserns | null {
  const linux = spec.linux ?? {};
  const hasUser = newUserns || joined.includes('user');
  if (!hasUser) {
    if (linux.uidMappings?.length || linux.gidMappings?.length) {
      throw new TsrunError('INVALID_ARGUMENT', "user namespace mappings specified, but user namespace isn't enabled in the config");
    }
    return null;
  }
  if (!newUserns) {
    if (spec.annotations?.[ROOTFS_IDMAP_ANNOTATION] !== undefined && spec.annotations[ROOTFS_IDMAP_ANNOTATION] !== 'false') {
      throw new TsrunError('UNSUPPORTED', 'an idmapped rootfs needs a new user namespace with mappings, not one joined by path');
    }
    return null;
  }
  const uids = checkMappings(linux.uidMappings, 'uidMappings');
  const gids = checkMappings(linux.gidMappings, 'gidMappings');
  // The set-up runs as the namespace's root (as runc's does).
  if (hostIdOf(uids, 0) === undefined || hostIdOf(gids, 0) === undefined) {
    throw new TsrunError('INVALID_ARGUMENT', 'the user namespace mappings must map container uid and gid 0: the container is set up as its root');
  }
  return { uidMap: mapText(uids), gidMap: mapText(gids), idmapRootfs: idmapRootfs(spec, uids, gids) };
}

function idmapRootfs(spec: OciSpec, uids: LinuxIdMapping[], gids: LinuxIdMapping[]): NativeIdmapRootfs | null {
  const value = spec.annotations?.[ROOTFS_IDMAP_ANNOTATION];
  if (value === undefined || value === 'false') return null;
  // The overlay's own files (its work dir) belong to the container's root,
  // or to the first mapped id when root is not mapped.
  const mounterUid = hostIdOf(uids, 0) ?? uids[0].hostID;
  const mounterGid = hostIdOf(gids, 0) ?? gids[0].hostID;
  if (value === 'true') return { lower: [], upperBase: '', upper: '', work: '', mounterUid, mounterGid };
  let layers: RootfsLayers;
  try {
    layers = JSON.parse(value) as RootfsLayers;
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `annotation ${ROOTFS_IDMAP_ANNOTATION} is neither "true" nor a JSON layer list`, { cause });
  }
  const paths = [...(Array.isArray(layers?.lower) ? layers.lower : []), layers?.upper, layers?.work];
  if (!layers?.lower?.length || paths.some((p) => typeof p !== 'string' || !isAbsolute(p))) {
    throw new TsrunError('INVALID_ARGUMENT', `annotation ${ROOTFS_IDMAP_ANNOTATION}: lower (at least one), upper and work must be absolute paths`);
  }
  if (dirname(layers.upper) !== dirname(layers.work)) {
    throw new TsrunError('INVALID_ARGUMENT', `annotation ${ROOTFS_IDMAP_ANNOTATION}: upper and work must be in one directory (overlay wants them on one mount)`);
  }
  return {
    lower: layers.lower, upperBase: dirname(layers.upper), upper: basename(layers.upper), work: basename(layers.work),
    mounterUid, mounterGid,
  };
}

/**
 * A failure of the idmapped rootfs (step "idmap") as a line a user can act
 * on: which kernel feature is missing. tsrun never falls back to chowning.
 */
export function idmapError(err: NativeSystemError): TsrunError {
  const refused = ['EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS'].includes(err.code);
  let why: string;
  if (err.syscall === 'mount_setattr' && refused) {
    why = `the filesystem of ${err.path} cannot be idmapped on this kernel ` +
      '(idmapped mounts need Linux 5.12 or later and a filesystem that supports them, such as ext4, xfs, btrfs or tmpfs; ' +
      'an overlay mount cannot be idmapped itself: give its layers instead)';
  } else if (err.syscall === 'fsconfig' && refused) {
    why = `overlayfs refused an idmapped layer (${err.path}): building an overlay from idmapped layers passed as ` +
      'detached mounts needs Linux 6.15 or later';
  } else if ((err.syscall === 'open_tree' || err.syscall === 'fsopen' || err.syscall === 'fsmount') && err.code === 'ENOSYS') {
    why = 'this kernel has no new mount API (open_tree/fsopen need Linux 5.2, idmapped mounts 5.12)';
  } else {
    why = err.message;
  }
  return new TsrunError('UNSUPPORTED', `cannot present the root filesystem through an idmapped mount: ${why}; tsrun never chowns image layers`, { cause: err });
}
