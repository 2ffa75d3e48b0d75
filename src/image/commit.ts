// `tsrun commit` and `tsrun diff`: a container's changes, read from its
// overlay upperdir the way build reads a RUN step's (layer/upper.ts), as a
// new image on top of the container's image, or as Docker's A/C/D list.
//
// The new image's config is the image's, with the container's own process
// settings (Cmd, Entrypoint, Env, WorkingDir, User: Docker commits
// container.Config) and the --change lines applied, plus one history entry
// as moby's CommitImage writes it (created_by = the container's Cmd, the
// message as comment, the author; empty_layer when nothing changed).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import type { Tsrun } from '../tsrun.js';
import type { OciSpec } from '../spec/oci.js';
import { applyChanges } from './archive/changes.js';
import type { ImageConfig, ImageHistory, ImageRuntimeConfig } from './config.js';
import { lowerLookup, mountStubs, upperChanges, type ChangeKind, type LowerExists } from './layer/upper.js';
import { writeLayer } from './layer/write.js';
import { storeImage, tagKey } from './new-image.js';

export interface CommitOptions {
  /** REPOSITORY[:TAG] to name the image. */
  reference?: string;
  /** Dockerfile instructions (--change). */
  changes?: string[];
  /** The history comment (--message). */
  message?: string;
  /** --author. */
  author?: string;
  /** Pause a running container while its layer is written (default true, as Docker). */
  pause?: boolean;
  /**
   * A config to commit with (the Engine API's /commit body): what it sets
   * wins over the container's own settings, the --change lines apply to it
   * first (moby's CommitImage: BuildFromConfig, then merge).
   */
  config?: ImageRuntimeConfig;
}

/**
 * moby's `merge(userConf, imageConf)`: the caller's config, each field it
 * leaves empty taken from the container's; Env, Labels, ExposedPorts and
 * Volumes are unions where the caller's entries win.
 */
export function mergeCommitConfig(user: ImageRuntimeConfig, own: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = structuredClone(user);
  if (!out.User) out.User = own.User;
  out.ExposedPorts = { ...(own.ExposedPorts ?? {}), ...(out.ExposedPorts ?? {}) };
  if (!out.Env?.length) out.Env = own.Env;
  else {
    const keys = new Set(out.Env.map((e) => e.split('=')[0]));
    out.Env = [...out.Env, ...(own.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  }
  out.Labels = { ...(own.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = own.Cmd;
    if (out.Entrypoint == null) out.Entrypoint = own.Entrypoint;
  }
  if (!out.Healthcheck) out.Healthcheck = own.Healthcheck;
  if (!out.WorkingDir) out.WorkingDir = own.WorkingDir;
  out.Volumes = { ...(own.Volumes ?? {}), ...(out.Volumes ?? {}) };
  if (!out.StopSignal) out.StopSignal = own.StopSignal;
  if (!out.Shell?.length) out.Shell = own.Shell;
  if (out.OnBuild == null) out.OnBuild = own.OnBuild;
  for (const k of Object.keys(out) as Array<keyof ImageRuntimeConfig>) {
    const v = out[k];
    if (v === undefined || v === '' || (typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.keys(v).length)) delete out[k];
  }
  return out;
}

/** A container made from an image: its id, the image id, and the overlay it runs on. */
async function imageContainer(tsrun: Tsrun, ref: string, verb: string): Promise<{ id: string; name: string; imageId: string }> {
  const id = await tsrun.containers.resolve(ref);
  const record = await tsrun.containers.store.read(id);
  const imageId = record.request?.imageId;
  if (!imageId) {
    throw new TsrunError('UNSUPPORTED', `cannot ${verb} container ${record.name}: it runs from a root filesystem directory (--rootfs), not from an image`);
  }
  return { id, name: record.name, imageId };
}

/**
 * The container's upperdir, and what to leave out of it: the mount points
 * the runtime created there (/etc/hosts, /proc, ... of an image without
 * them), which Docker keeps in a separate init layer.
 */
async function upperOf(tsrun: Tsrun, id: string, spec: OciSpec): Promise<{ upper: string; lower: LowerExists; skip: Set<string> }> {
  const paths = tsrun.images.rootfs.paths(id);
  // The lower dirs the overlay really has (top first), relative to the layer store.
  const dirs = (await readFile(join(paths.base, 'lower'), 'utf8')).split(':').filter(Boolean).map((l) => resolve(tsrun.images.layers.dir, l));
  const lower = lowerLookup(dirs, tsrun.native);
  const skip = await mountStubs(paths.upper, (spec.mounts ?? []).map((m) => m.destination), lower);
  return { upper: paths.upper, lower, skip };
}

const HOSTNAME_RE = /^HOSTNAME=/;

/**
 * The container's process settings in Docker's Config terms. The spec has
 * one argv: when it starts with the image's Entrypoint, that is kept and
 * the rest is Cmd; otherwise --entrypoint replaced it (its first word).
 * The env loses what tsrun adds for the runtime only (HOSTNAME, TERM for
 * -t, HOME from passwd), as Docker's container Config never holds those.
 */
export function containerRuntimeConfig(image: ImageRuntimeConfig, spec: OciSpec): ImageRuntimeConfig {
  const p = spec.process;
  const out: ImageRuntimeConfig = { ...image };
  if (!p) return out;
  const args = p.args ?? [];
  const entry = image.Entrypoint ?? [];
  if (entry.length && entry.every((a, i) => args[i] === a)) {
    out.Entrypoint = entry;
    out.Cmd = args.slice(entry.length);
  } else if (entry.length) {
    out.Entrypoint = args.slice(0, 1);
    out.Cmd = args.slice(1);
  } else {
    out.Cmd = args;
  }
  const imageEnv = new Set((image.Env ?? []).map((e) => e.split('=')[0]));
  out.Env = (p.env ?? []).filter((e) => {
    const key = e.split('=')[0];
    if (imageEnv.has(key)) return true;
    if (HOSTNAME_RE.test(e)) return e !== `HOSTNAME=${spec.hostname ?? ''}`;
    if (key === 'TERM') return !(p.terminal && e === 'TERM=xterm');
    return key !== 'HOME';
  });
  const cwd = p.cwd || '/';
  out.WorkingDir = cwd === '/' && !image.WorkingDir ? '' : cwd;
  // Docker keeps the -u/USER string; the spec has the resolved user. The
  // image's spelling stays when it names the same user; root (the default) is ''.
  const u = p.user;
  const imageUser = image.User ?? '';
  const sameAsImage = imageUser ? [u.username, String(u.uid)].includes(imageUser.split(':')[0]) : u.uid === 0 && u.gid === 0;
  out.User = sameAsImage ? imageUser : (u.username ?? `${u.uid}:${u.gid}`);
  if (!out.User) delete out.User;
  for (const k of Object.keys(out) as Array<keyof ImageRuntimeConfig>) if (out[k] === undefined) delete out[k];
  return out;
}

export async function commitContainer(tsrun: Tsrun, ref: string, opts: CommitOptions = {}): Promise<{ id: string }> {
  // The name and the changes are checked before the container is touched.
  const tags = opts.reference ? [tagKey(opts.reference)] : [];
  applyChanges({}, opts.changes ?? []);
  const { images, containers } = tsrun;
  const { id, imageId } = await imageContainer(tsrun, ref, 'commit');
  const index = await images.index.read();
  const parentRecord = index.images[imageId];
  if (!parentRecord) throw new TsrunError('IMAGE_NOT_FOUND', `the image of container ${ref} (${imageId}) is no longer in the store`);
  const parent = JSON.parse((await images.content.read(imageId)).toString('utf8')) as ImageConfig & Record<string, unknown>;
  const spec = await containers.store.readSpec(id);

  const running = (await containers.view(id)).status === 'running';
  const pause = (opts.pause ?? true) && running;
  if (pause) await containers.pause(id);
  let layer;
  try {
    const { upper, skip } = await upperOf(tsrun, id, spec);
    layer = await writeLayer(images, upper, { native: tsrun.native, skip });
  } finally {
    if (pause) await containers.unpause(id);
  }

  const own = containerRuntimeConfig(parent.config ?? {}, spec);
  // moby: created_by is the container's Cmd (before --change), as `docker history` shows a commit.
  const createdBy = (own.Cmd ?? []).join(' ');
  const runtime = opts.config
    ? mergeCommitConfig(applyChanges(structuredClone(opts.config), opts.changes ?? []), own)
    : applyChanges(structuredClone(own), opts.changes ?? []);
  const created = new Date().toISOString();
  const diffIds = [...parent.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])];
  // An image without history gets one entry per layer, so `history` still pairs them.
  const history: ImageHistory[] = parent.history?.length ? [...parent.history] : parent.rootfs.diff_ids.map(() => ({ created: parent.created }));
  history.push({
    created,
    ...(opts.author ? { author: opts.author } : {}),
    created_by: createdBy,
    ...(opts.message ? { comment: opts.message } : {}),
    ...(layer ? {} : { empty_layer: true }),
  });
  // Fields describing how the parent was made do not describe this image.
  const { container: _c, container_config: _cc, docker_version: _dv, author: _a, comment: _cm, ...rest } = parent;
  const config: ImageConfig & Record<string, unknown> = {
    ...rest,
    created,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.message ? { comment: opts.message } : {}),
    config: runtime,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  };
  const { id: imageIdNew } = await storeImage(images, { config, layers: [...parentRecord.layers, ...(layer ? [layer] : [])], tags });
  return { id: imageIdNew };
}

/** `tsrun diff`: the container's changes against its image, in Docker's order. */
export async function containerChanges(tsrun: Tsrun, ref: string): Promise<Array<{ kind: ChangeKind; path: string }>> {
  const { id } = await imageContainer(tsrun, ref, 'diff');
  const { upper, lower, skip } = await upperOf(tsrun, id, await tsrun.containers.store.readSpec(id));
  return upperChanges(upper, lower, tsrun.native, { skip });
}
