// User namespaces for tsrun's own containers: which ids the container's
// root and users are on the host. The flags are Podman's and Docker's:
//
//   --userns=host           the host's ids (the default): root is root
//   --uidmap C:H:S, --gidmap C:H:S (repeatable; one alone serves both)
//                           exactly these mappings
//   --userns=auto[:size=N]  a range of N ids (default 65536) that no other
//                           container of this root uses, taken from the
//                           subordinate ids of the user AUTO_USER in
//                           /etc/subuid and /etc/subgid
//   remap (Docker's dockerd --userns-remap=default|USER[:GROUP]): every
//   container without --userns/--uidmap gets one shared mapping: container
//   ids 0.. onto all of USER's subordinate ranges in order ("default" is
//   AUTO_USER). tsrun takes it as a global option or TSRUN_USERNS_REMAP.
//
// AUTO_USER is "tsrun", not Podman's "containers" or Docker's "dockremap":
// tsrun's allocations are recorded only in its own root, so sharing another
// engine's pool would hand out ranges that engine also uses.
//
// The allocations of --userns=auto live in ROOT/userns/allocations.json,
// changed under ROOT/userns/lock, and are freed when the container is
// removed (releaseUserns). The image layers are never chowned: the spec
// asks the runtime for an idmapped rootfs (runtime/native-userns.ts).
// TSRUN_SUBUID_FILE and TSRUN_SUBGID_FILE (in ctx.hostEnv) replace
// /etc/subuid and /etc/subgid, so tests never edit the host's files.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { ROOTFS_IDMAP_ANNOTATION, checkMappings, hostIdOf, type RootfsLayers } from '../runtime/native-userns.js';
import { atomicWriteJson } from '../util/atomic-write.js';
import type { Locker } from '../util/lock.js';
import type { LinuxIdMapping, OciSpec } from './oci.js';
import { parsePasswd } from './user.js';

/** The user whose subordinate ids --userns=auto and --userns-remap=default use. */
export const AUTO_USER = 'tsrun';
/** --userns=auto without size=: the 16-bit id space images assume (Docker's remap maps as much). */
export const AUTO_DEFAULT_SIZE = 65536;
const MAX_ID = 2 ** 32 - 2;

/** One line of /etc/subuid or /etc/subgid: OWNER (a name or a uid) : START : COUNT. */
export interface SubIdEntry { owner: string; start: number; count: number }
/** Host ids [start, start+count). */
export interface IdRange { start: number; count: number }

export type UsernsMode = { kind: 'host' } | { kind: 'auto'; size: number };

export interface UsernsOptions {
  /** --userns: host (default) or auto[:size=N]. */
  userns?: string;
  /** --uidmap / --gidmap: CONTAINER:HOST:SIZE each. */
  uidmap?: string[];
  gidmap?: string[];
}

export interface UsernsContext {
  /** tsrun's --root: where the auto allocations are recorded. */
  root: string;
  /** The container's id (its allocation's key). */
  id: string;
  /** Serialises allocations (util/lock.ts fileLocker). */
  locker: Locker;
  /** The caller's environment: TSRUN_SUBUID_FILE, TSRUN_SUBGID_FILE. */
  hostEnv?: Record<string, string | undefined>;
  /** Docker's --userns-remap value (default|USER[:GROUP]) for containers without --userns or maps. */
  remap?: string;
  /** The overlay the rootfs is made of (image containers): rebuilt from idmapped layers. Absent: the rootfs tree is idmapped itself. */
  rootfsLayers?: RootfsLayers;
  /** Whether an allocation's container still exists; records of gone containers are dropped when allocating. */
  isLive?: (id: string) => Promise<boolean>;
  /** /etc/passwd of the host, for subordinate-id lines keyed by uid (default /etc/passwd). */
  passwdFile?: string;
}

/** What applyUserns did, for inspect (HostConfig.UsernsMode) and the caller's records. */
export interface UsernsResult {
  mode: string;
  uidMappings: LinuxIdMapping[];
  gidMappings: LinuxIdMapping[];
}

// ------------------------------------------------------------- parsing

/** /etc/subuid lines; blank lines, comments and malformed lines are skipped (as shadow's libsubid does). */
export function parseSubIds(text: string): SubIdEntry[] {
  const out: SubIdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count, ...rest] = line.split(':');
    if (rest.length || !owner || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
    const s = Number(start);
    const c = Number(count);
    if (c < 1 || s + c - 1 > MAX_ID) continue;
    out.push({ owner, start: s, count: c });
  }
  return out;
}

/** The ranges of a user, matched by name or by uid, in file order. */
export function rangesOf(entries: SubIdEntry[], user: { name: string; uid?: number }): IdRange[] {
  return entries
    .filter((e) => e.owner === user.name || (user.uid !== undefined && e.owner === String(user.uid)))
    .map((e) => ({ start: e.start, count: e.count }));
}

/** One --uidmap/--gidmap value: CONTAINER:HOST:SIZE. */
export function parseIdMapFlag(value: string, flag: '--uidmap' | '--gidmap'): LinuxIdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw new TsrunError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(value)}: expected CONTAINER_ID:HOST_ID:SIZE`);
  const [containerID, hostID, size] = m.slice(1).map(Number);
  if (size < 1) throw new TsrunError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(value)}: the size must be at least 1`);
  if (containerID + size - 1 > MAX_ID || hostID + size - 1 > MAX_ID) {
    throw new TsrunError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(value)}: the range goes past the largest id ${MAX_ID}`);
  }
  return { containerID, hostID, size };
}

/** --userns values tsrun takes: host (or empty) and auto[:size=N]. */
export function parseUsernsMode(value: string | undefined): UsernsMode {
  if (value === undefined || value === '' || value === 'host') return { kind: 'host' };
  if (value === 'auto' || value.startsWith('auto:')) {
    let size = AUTO_DEFAULT_SIZE;
    for (const opt of value === 'auto' ? [] : value.slice('auto:'.length).split(',')) {
      const [k, v] = opt.split('=', 2);
      if (k !== 'size' || !/^\d+$/.test(v ?? '') || Number(v) < 1 || Number(v) > MAX_ID) {
        throw new TsrunError('INVALID_ARGUMENT', `--userns ${JSON.stringify(value)}: unsupported option ${JSON.stringify(opt)} (tsrun takes auto:size=N)`);
      }
      size = Number(v);
    }
    return { kind: 'auto', size };
  }
  throw new TsrunError('INVALID_ARGUMENT', `--userns ${JSON.stringify(value)}: unsupported mode (use host or auto[:size=N], or --uidmap/--gidmap)`);
}

// ---------------------------------------------------------- allocation

/** Host ids of `ranges` not in `used`, as ranges, sorted. */
export function freeRanges(ranges: IdRange[], used: IdRange[]): IdRange[] {
  const busy = [...used].sort((a, b) => a.start - b.start);
  const free: IdRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    let at = r.start;
    const end = r.start + r.count;
    for (const u of busy) {
      if (u.start + u.count <= at || u.start >= end) continue;
      if (u.start > at) free.push({ start: at, count: u.start - at });
      at = Math.max(at, u.start + u.count);
    }
    if (at < end) free.push({ start: at, count: end - at });
  }
  // Overlapping lines in the file would yield the same ids twice.
  const merged: IdRange[] = [];
  for (const f of free.sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && f.start <= last.start + last.count) last.count = Math.max(last.count, f.start + f.count - last.start);
    else merged.push({ ...f });
  }
  return merged;
}

/** The first free block of `size` contiguous host ids, or null. */
export function allocateRange(ranges: IdRange[], used: IdRange[], size: number): IdRange | null {
  const hit = freeRanges(ranges, used).find((f) => f.count >= size);
  return hit ? { start: hit.start, count: size } : null;
}

interface Allocations {
  containers: Record<string, { uid: IdRange; gid: IdRange }>;
}

function allocationsDir(root: string): string {
  return join(root, 'userns');
}

async function readAllocations(root: string): Promise<Allocations> {
  const text = await readFile(join(allocationsDir(root), 'allocations.json'), 'utf8').catch(() => '');
  try {
    const parsed = JSON.parse(text) as Allocations;
    if (parsed && typeof parsed.containers === 'object') return parsed;
  } catch {
    // missing or damaged: no allocation is known
  }
  return { containers: {} };
}

/** Frees the --userns=auto range of a container (nothing when it had none). */
export async function releaseUserns(root: string, id: string, locker: Locker): Promise<void> {
  const dir = allocationsDir(root);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await locker(join(dir, 'lock'), async () => {
    const a = await readAllocations(root);
    if (!a.containers[id]) return;
    delete a.containers[id];
    await atomicWriteJson(join(dir, 'allocations.json'), a);
  });
}

// ------------------------------------------------------------ applying

async function readSubIdFile(path: string): Promise<SubIdEntry[]> {
  try {
    return parseSubIds(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TsrunError('INVALID_ARGUMENT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function hostUid(name: string, passwdFile: string): Promise<number | undefined> {
  const text = await readFile(passwdFile, 'utf8').catch(() => '');
  return parsePasswd(text).find((e) => e.name === name)?.uid;
}

function subIdFiles(ctx: UsernsContext): { uid: string; gid: string } {
  return { uid: ctx.hostEnv?.TSRUN_SUBUID_FILE || '/etc/subuid', gid: ctx.hostEnv?.TSRUN_SUBGID_FILE || '/etc/subgid' };
}

async function subordinateIds(ctx: UsernsContext, user: string, group: string, what: string): Promise<{ uid: IdRange[]; gid: IdRange[] }> {
  const files = subIdFiles(ctx);
  const passwd = ctx.passwdFile ?? '/etc/passwd';
  const uid = rangesOf(await readSubIdFile(files.uid), { name: user, uid: await hostUid(user, passwd) });
  const gid = rangesOf(await readSubIdFile(files.gid), { name: group, uid: await hostUid(group, passwd) });
  for (const [ranges, file, who] of [[uid, files.uid, user], [gid, files.gid, group]] as const) {
    if (!ranges.length) {
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `${what}: no subordinate ids for "${who}" in ${file} (add a line such as "${who}:100000:65536")`,
      );
    }
  }
  return { uid, gid };
}

/** Docker's remap: container ids 0.. onto every range in order. */
function concatenated(ranges: IdRange[]): LinuxIdMapping[] {
  let next = 0;
  return ranges.map((r) => {
    const m = { containerID: next, hostID: r.start, size: r.count };
    next += r.count;
    return m;
  });
}

async function allocateAuto(ctx: UsernsContext, size: number): Promise<{ uid: IdRange; gid: IdRange }> {
  const subs = await subordinateIds(ctx, AUTO_USER, AUTO_USER, '--userns=auto');
  const dir = allocationsDir(ctx.root);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return ctx.locker(join(dir, 'lock'), async () => {
    const a = await readAllocations(ctx.root);
    const mine = a.containers[ctx.id];
    if (mine) return mine;
    for (const other of Object.keys(a.containers)) {
      if (ctx.isLive && !(await ctx.isLive(other))) delete a.containers[other];
    }
    const taken = Object.values(a.containers);
    const uid = allocateRange(subs.uid, taken.map((t) => t.uid), size);
    const gid = allocateRange(subs.gid, taken.map((t) => t.gid), size);
    if (!uid || !gid) {
      const file = !uid ? subIdFiles(ctx).uid : subIdFiles(ctx).gid;
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `--userns=auto: no free range of ${size} ids left in the subordinate ids of "${AUTO_USER}" in ${file} (${taken.length} container(s) hold one; ask for a smaller size= or add ids)`,
      );
    }
    a.containers[ctx.id] = { uid, gid };
    await atomicWriteJson(join(dir, 'allocations.json'), a);
    return { uid, gid };
  });
}

/** The mappings and mode name the options and context ask for, or null for the host's ids. */
export async function resolveUserns(opts: UsernsOptions, ctx: UsernsContext): Promise<UsernsResult | null> {
  const uidFlags = (opts.uidmap ?? []).map((v) => parseIdMapFlag(v, '--uidmap'));
  const gidFlags = (opts.gidmap ?? []).map((v) => parseIdMapFlag(v, '--gidmap'));
  const mode = parseUsernsMode(opts.userns);
  if (uidFlags.length || gidFlags.length) {
    if (opts.userns) throw new TsrunError('INVALID_ARGUMENT', '--userns and --uidmap/--gidmap cannot be used together');
    // Podman: one of the two alone is used for both.
    return { mode: '', uidMappings: uidFlags.length ? uidFlags : gidFlags, gidMappings: gidFlags.length ? gidFlags : uidFlags };
  }
  if (mode.kind === 'auto') {
    const { uid, gid } = await allocateAuto(ctx, mode.size);
    return {
      mode: opts.userns!,
      uidMappings: [{ containerID: 0, hostID: uid.start, size: uid.count }],
      gidMappings: [{ containerID: 0, hostID: gid.start, size: gid.count }],
    };
  }
  // An explicit --userns=host opts out of the remap, as in Docker.
  if (opts.userns === 'host' || !ctx.remap) return null;
  const [user, group] = ctx.remap === 'default' ? [AUTO_USER, AUTO_USER] : ctx.remap.split(':', 2);
  if (!user) throw new TsrunError('INVALID_ARGUMENT', `--userns-remap ${JSON.stringify(ctx.remap)}: expected default or USER[:GROUP]`);
  const subs = await subordinateIds(ctx, user, group || user, '--userns-remap');
  return { mode: '', uidMappings: concatenated(subs.uid), gidMappings: concatenated(subs.gid) };
}

/**
 * Adds a user namespace and its mappings to `spec` when the options (or
 * the remap) ask for one; returns what was applied, or null (host ids).
 * With --userns=auto the allocation is recorded: free it with
 * releaseUserns when the container is removed, or when creating it fails.
 */
export async function applyUserns(spec: OciSpec, opts: UsernsOptions, ctx: UsernsContext): Promise<UsernsResult | null> {
  const linux = (spec.linux ??= {});
  const namespaces = linux.namespaces ?? [];
  // Checked before anything is allocated.
  const wanted = !!(opts.uidmap?.length || opts.gidmap?.length || (opts.userns && opts.userns !== 'host') || (ctx.remap && opts.userns !== 'host'));
  if (wanted) {
    if (!namespaces.some((n) => n.type === 'pid' && !n.path)) {
      throw new TsrunError('INVALID_ARGUMENT', 'cannot share the host PID namespace, or join another, when user namespaces are enabled (use --userns=host)');
    }
    const joined = namespaces.filter((n) => n.path && n.type !== 'user').map((n) => n.type);
    if (joined.length) {
      throw new TsrunError('INVALID_ARGUMENT', `cannot join the ${joined.join(', ')} namespace of another container when user namespaces are enabled (use --userns=host)`);
    }
  }
  const result = await resolveUserns(opts, ctx);
  if (!result) return null;
  checkMappings(result.uidMappings, 'uidMappings');
  checkMappings(result.gidMappings, 'gidMappings');
  for (const [maps, what] of [[result.uidMappings, '--uidmap'], [result.gidMappings, '--gidmap']] as const) {
    if (hostIdOf(maps, 0) === undefined) throw new TsrunError('INVALID_ARGUMENT', `${what}: container id 0 (the container's root) must be mapped`);
  }
  linux.namespaces = [...namespaces.filter((n) => n.type !== 'user'), { type: 'user' }];
  linux.uidMappings = result.uidMappings;
  linux.gidMappings = result.gidMappings;
  spec.annotations = { ...spec.annotations, [ROOTFS_IDMAP_ANNOTATION]: ctx.rootfsLayers ? JSON.stringify(ctx.rootfsLayers) : 'true' };
  return result;
}
