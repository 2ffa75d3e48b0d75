// Docker's mount flags as data: `-v`, `--mount`, `--tmpfs` and
// `--volumes-from` → MountSpec values. Pure (no I/O), so every malformed
// flag is refused before an image is pulled or anything is created.
import path from 'node:path';
import { TsrunError } from '../errors.js';

/** Docker's volume name rule (moby volume/local: validName). */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
const PROPAGATIONS = new Set<string>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

export interface BindSpec {
  type: 'bind';
  /** Absolute host path. */
  source: string;
  target: string;
  readonly: boolean;
  propagation: Propagation;
  /** `-v` creates a missing source directory (Docker); `--mount` refuses it. */
  createSource: boolean;
  /** Docker's Mode string (`ro,z`, ''), for inspect. */
  mode: string;
  /** The `-v` value as given, for HostConfig.Binds. */
  bind?: string;
}

export interface VolumeSpec {
  type: 'volume';
  /** Absent: an anonymous volume (a random 64-hex name). */
  name?: string;
  target: string;
  readonly: boolean;
  /** volume-nocopy / `:nocopy`: do not fill an empty volume from the image. */
  noCopy: boolean;
  /** --mount volume-label=K=V: labels for a volume this creates. */
  labels?: Record<string, string>;
  mode: string;
  bind?: string;
}

export interface TmpfsSpec {
  type: 'tmpfs';
  target: string;
  /** Mount options after Docker's defaults (nosuid,nodev,noexec), e.g. size=65536k,mode=1777. */
  options: string[];
}

export type MountSpec = BindSpec | VolumeSpec | TmpfsSpec;

export interface VolumesFromSpec {
  container: string;
  /** Override every mount's mode; absent: keep each one's own. */
  mode?: 'ro' | 'rw';
}

export interface MountFlags {
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  volumesFrom?: string[];
}

function bad(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

/** A container path: absolute, cleaned, never '/'. */
export function containerPath(raw: string, what: string): string {
  if (raw === '') throw bad(`invalid ${what}: the container path is empty`);
  if (!raw.startsWith('/')) throw bad(`invalid ${what}: the container path ${JSON.stringify(raw)} is not absolute`);
  if (raw.includes('\0')) throw bad(`invalid ${what}: the container path contains a NUL byte`);
  const clean = path.posix.normalize(raw).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw bad(`invalid ${what}: the destination can't be '/'`);
  return clean;
}

export function checkVolumeName(name: string): string {
  if (!VOLUME_NAME_RE.test(name)) {
    throw bad(`invalid volume name ${JSON.stringify(name)}: only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed, at least two characters`);
  }
  return name;
}

function hostPath(raw: string, what: string): string {
  if (raw.includes('\0')) throw bad(`invalid ${what}: the host path contains a NUL byte`);
  return path.resolve(raw);
}

/** `-v` mode field: ro|rw, z|Z, a propagation, nocopy; comma separated, each kind once. */
function parseMode(mode: string, spec: string) {
  let rw: 'ro' | 'rw' | undefined;
  let propagation: Propagation | undefined;
  let noCopy = false;
  let label = false;
  for (const opt of mode === '' ? [] : mode.split(',')) {
    if (opt === 'ro' || opt === 'rw') {
      if (rw) throw bad(`invalid volume specification ${JSON.stringify(spec)}: invalid mode: ${mode}`);
      rw = opt;
    } else if (opt === 'z' || opt === 'Z') {
      if (label) throw bad(`invalid volume specification ${JSON.stringify(spec)}: invalid mode: ${mode}`);
      label = true; // SELinux relabel: nothing to do without SELinux.
    } else if (PROPAGATIONS.has(opt)) {
      if (propagation) throw bad(`invalid volume specification ${JSON.stringify(spec)}: invalid mode: ${mode}`);
      propagation = opt as Propagation;
    } else if (opt === 'nocopy') {
      noCopy = true;
    } else if (opt === 'consistent' || opt === 'cached' || opt === 'delegated') {
      // Docker Desktop hints; meaningless on Linux.
    } else {
      throw bad(`invalid volume specification ${JSON.stringify(spec)}: invalid mode: ${opt || mode}`);
    }
  }
  return { readonly: rw === 'ro', propagation, noCopy };
}

function isMode(s: string): boolean {
  try {
    parseMode(s, s);
    return true;
  } catch {
    return false;
  }
}

/** `-v [SOURCE:]TARGET[:MODE]`, Docker's Linux parser. */
export function parseVolumeFlag(spec: string): BindSpec | VolumeSpec {
  const parts = spec.split(':');
  let source: string | undefined;
  let target: string;
  let mode = '';
  if (parts.length === 1) [target] = parts;
  else if (parts.length === 2) {
    if (isMode(parts[1]) && parts[0].startsWith('/')) [target, mode] = parts;
    else [source, target] = parts;
  } else if (parts.length === 3) [source, target, mode] = parts;
  else throw bad(`invalid volume specification ${JSON.stringify(spec)}: too many colons`);
  if (source === '') throw bad(`invalid volume specification ${JSON.stringify(spec)}: empty source`);
  const dst = containerPath(target, `volume specification ${JSON.stringify(spec)}`);
  const m = parseMode(mode, spec);
  if (source !== undefined && (source.startsWith('/') || source.startsWith('.'))) {
    if (m.noCopy) throw bad(`invalid volume specification ${JSON.stringify(spec)}: nocopy is only for volumes`);
    return {
      type: 'bind', source: hostPath(source, `volume specification ${JSON.stringify(spec)}`), target: dst, readonly: m.readonly,
      propagation: m.propagation ?? 'rprivate', createSource: true, mode, bind: spec,
    };
  }
  if (m.propagation) throw bad(`invalid volume specification ${JSON.stringify(spec)}: propagation is only for bind mounts`);
  return {
    type: 'volume', ...(source !== undefined ? { name: checkVolumeName(source) } : {}), target: dst, readonly: m.readonly,
    noCopy: m.noCopy, mode: mode || 'z', ...(source !== undefined ? { bind: spec } : {}),
  };
}

function parseBool(key: string, v: string | undefined, spec: string): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw bad(`invalid --mount ${JSON.stringify(spec)}: invalid value for ${key}: ${v}`);
}

/** Docker's RAMInBytes: `64m`, `1g`, `512k`, `100` (bytes). */
export function parseSize(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v);
  if (!m) throw bad(`invalid ${what}: ${JSON.stringify(v)} is not a size (e.g. 64m)`);
  const unit = 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' ');
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) throw bad(`invalid ${what}: ${JSON.stringify(v)} must be a positive size`);
  return n;
}

function parseOctalMode(v: string, what: string): string {
  if (!/^[0-7]{1,4}$/.test(v)) throw bad(`invalid ${what}: mode ${JSON.stringify(v)} is not octal (e.g. 1777)`);
  return v;
}

const TMPFS_DEFAULTS = ['nosuid', 'nodev', 'noexec'];
const TMPFS_FLAG_OPTS = new Set(['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'sync', 'async', 'dirsync',
  'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime']);
const TMPFS_DATA_OPTS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'huge']);

/** `--tmpfs PATH[:OPTS]`: Docker's defaults, then the user's options (which win). */
export function parseTmpfsFlag(spec: string): TmpfsSpec {
  const colon = spec.indexOf(':');
  const target = containerPath(colon < 0 ? spec : spec.slice(0, colon), `--tmpfs ${JSON.stringify(spec)}`);
  const options = [...TMPFS_DEFAULTS];
  const given = colon < 0 ? [] : spec.slice(colon + 1).split(',');
  for (const opt of given) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    if (value === undefined && TMPFS_FLAG_OPTS.has(key)) options.push(key);
    else if (value !== undefined && TMPFS_DATA_OPTS.has(key)) {
      if (key === 'size' && !/^\d+[kmg%]?$/i.test(value)) throw bad(`invalid --tmpfs ${JSON.stringify(spec)}: invalid size ${JSON.stringify(value)}`);
      if (key === 'mode') parseOctalMode(value, `--tmpfs ${JSON.stringify(spec)}`);
      if ((key === 'uid' || key === 'gid' || key === 'nr_inodes' || key === 'nr_blocks') && !/^\d+[kmg]?$/i.test(value)) {
        throw bad(`invalid --tmpfs ${JSON.stringify(spec)}: invalid ${key} ${JSON.stringify(value)}`);
      }
      options.push(`${key}=${value}`);
    } else throw bad(`invalid --tmpfs ${JSON.stringify(spec)}: unknown option ${JSON.stringify(opt)}`);
  }
  return { type: 'tmpfs', target, options };
}

/** `--mount type=bind|volume|tmpfs,source=..,target=..,readonly,...`. */
export function parseMountFlag(spec: string): MountSpec {
  let type = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readonly = false;
  let propagation: Propagation | undefined;
  let noCopy = false;
  let tmpfsSize: number | undefined;
  let tmpfsMode: string | undefined;
  const labels: Record<string, string> = {};
  const what = `--mount ${JSON.stringify(spec)}`;
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (value === undefined || value === '') throw bad(`invalid ${what}: ${key} needs a value`);
      return value;
    };
    switch (key) {
      case 'type': type = need(); break;
      case 'source': case 'src': source = need(); break;
      case 'target': case 'destination': case 'dst': target = need(); break;
      case 'readonly': case 'ro': readonly = parseBool(key, value, spec); break;
      case 'bind-propagation':
        if (!PROPAGATIONS.has(need())) throw bad(`invalid ${what}: invalid bind-propagation ${JSON.stringify(value)}`);
        propagation = value as Propagation;
        break;
      case 'volume-nocopy': noCopy = parseBool(key, value, spec); break;
      case 'volume-label': {
        const v = need();
        const i = v.indexOf('=');
        labels[i < 0 ? v : v.slice(0, i)] = i < 0 ? '' : v.slice(i + 1);
        break;
      }
      case 'volume-driver':
        if (need() !== 'local') throw bad(`invalid ${what}: only the local volume driver is supported`);
        break;
      case 'tmpfs-size': tmpfsSize = parseSize(need(), what); break;
      case 'tmpfs-mode': tmpfsMode = parseOctalMode(need(), what); break;
      case 'consistency': break;
      default: throw bad(`invalid ${what}: unexpected key ${JSON.stringify(key)}`);
    }
  }
  if (target === undefined) throw bad(`invalid ${what}: target is required`);
  const dst = containerPath(target, what);
  const only = (cond: boolean, opt: string) => {
    if (cond) throw bad(`invalid ${what}: ${opt} is not allowed for type=${type}`);
  };
  switch (type) {
    case 'bind':
      if (source === undefined) throw bad(`invalid ${what}: source is required for a bind mount`);
      only(noCopy || Object.keys(labels).length > 0, 'a volume option');
      only(tmpfsSize !== undefined || tmpfsMode !== undefined, 'a tmpfs option');
      return {
        type: 'bind', source: hostPath(source, what), target: dst, readonly, propagation: propagation ?? 'rprivate',
        createSource: false, mode: '',
      };
    case 'volume':
      only(propagation !== undefined, 'bind-propagation');
      only(tmpfsSize !== undefined || tmpfsMode !== undefined, 'a tmpfs option');
      return {
        type: 'volume', ...(source !== undefined ? { name: checkVolumeName(source) } : {}), target: dst, readonly, noCopy,
        ...(Object.keys(labels).length ? { labels } : {}), mode: 'z',
      };
    case 'tmpfs': {
      only(source !== undefined, 'source');
      only(propagation !== undefined, 'bind-propagation');
      only(noCopy || Object.keys(labels).length > 0, 'a volume option');
      const options = [...TMPFS_DEFAULTS];
      if (readonly) options.push('ro');
      if (tmpfsSize !== undefined) options.push(`size=${tmpfsSize}`);
      if (tmpfsMode !== undefined) options.push(`mode=${tmpfsMode}`);
      return { type: 'tmpfs', target: dst, options };
    }
    default:
      throw bad(`invalid ${what}: unknown mount type ${JSON.stringify(type)} (bind, volume or tmpfs)`);
  }
}

export function parseVolumesFrom(spec: string): VolumesFromSpec {
  const parts = spec.split(':');
  if (parts.length > 2 || parts[0] === '') throw bad(`invalid --volumes-from ${JSON.stringify(spec)}: use CONTAINER[:ro|rw]`);
  if (parts.length === 2 && parts[1] !== 'ro' && parts[1] !== 'rw') {
    throw bad(`invalid --volumes-from ${JSON.stringify(spec)}: invalid mode: ${parts[1]}`);
  }
  return { container: parts[0], ...(parts.length === 2 ? { mode: parts[1] as 'ro' | 'rw' } : {}) };
}

/** Refuses two mounts on one container path (Docker: "Duplicate mount point"). */
export function checkDuplicates(targets: string[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t)) throw bad(`duplicate mount point: ${t}`);
    seen.add(t);
  }
}

/** All of run/create's mount flags → specs, validated together. */
export function parseMountFlags(flags: MountFlags): { mounts: MountSpec[]; volumesFrom: VolumesFromSpec[] } {
  const mounts: MountSpec[] = [
    ...(flags.volume ?? []).map(parseVolumeFlag),
    ...(flags.mount ?? []).map(parseMountFlag),
    ...(flags.tmpfs ?? []).map(parseTmpfsFlag),
  ];
  checkDuplicates(mounts.map((m) => m.target));
  return { mounts, volumesFrom: (flags.volumesFrom ?? []).map(parseVolumesFrom) };
}
