// Docker's image verbs over the stores: pull, list, look up, tag, remove,
// history, prune. Layout under --root:
//   images/blobs/sha256/<hex>   manifests, configs, layer blobs (store/content.ts)
//   images/layers/, images/l/   unpacked layers (store/layers.ts)
//   images/index.json           images and names (store/image-index.ts)
//   overlay/<container id>/     container root filesystems (rootfs.ts)
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import type { Locker } from '../util/lock.js';
import { parseImageConfig, type ImageConfig } from './config.js';
import { hostPlatform, type Platform } from './platform.js';
import type { PullDeps, PullEvent, PullResult } from './pull.js';
import type { PushEvent, PushResult } from './push.js';
import { familiarName, familiarString, parseReference, repositoryName, type ImageReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import type { RegistryPushClient } from './registry/upload.js';
import type { CredentialSource } from './registry/credentials.js';
import type { RegistryHostsConfig } from './registry/hosts.js';
import { ContainerRootfs } from './rootfs.js';
import { ContentStore } from './store/content.js';
import { ImageIndex, tagsOf, type IndexData, type ImageLayer, type ImageRecord } from './store/image-index.js';
import { LayerStore } from './store/layers.js';
import type { UnpackPool } from './unpack/pool.js';
import { matchesPruneFilters, noFilters, type PruneFilters } from '../util/prune-filters.js';

export interface ImagesDeps {
  root: string;
  native: NativeBinding;
  lock: Locker;
  hosts?: RegistryHostsConfig;
  credentials?: CredentialSource;
  /** Ids of images that containers use (rmi refuses to remove those). */
  imagesInUse: () => Promise<Map<string, string[]>>;
  /** Unpack layers in worker threads (needs the real addon: a test's fake native cannot cross into a worker). */
  unpackInWorkers?: boolean;
  /** Layers no image names yet that garbage collection must keep (the build cache's). */
  pinned?: () => Promise<ImageLayer[]>;
}

/** An image as `images`/`inspect` show it. */
export interface ImageView {
  record: ImageRecord;
  config: ImageConfig;
  /** Familiar name:tag strings (alpine:latest). */
  repoTags: string[];
  /** Sum of the layers' unpacked sizes (Docker's SIZE). */
  size: number;
}

export type PullPolicy = 'always' | 'missing' | 'never';

export interface PullCallOptions {
  platform?: Platform;
  onEvent?: (e: PullEvent) => void;
  concurrency?: number;
  /** Credentials for this pull only, instead of the stored ones (the Engine API's X-Registry-Auth). */
  credentials?: CredentialSource;
}

// Layers unpacked at once. Unpacking is CPU (gunzip, hashing, tar) and
// file-creation latency: a few threads keep a disk busy without crowding
// out the main thread's downloads.
const UNPACK_WORKERS = Number(process.env.TSRUN_UNPACK_WORKERS) || 3;

const ID_PREFIX_RE = /^(?:sha256:)?([a-f0-9]{1,64})$/;

export class Images {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly index: ImageIndex;
  readonly rootfs: ContainerRootfs;
  private client?: RegistryClient;
  private pushClient?: RegistryPushClient;
  private pool?: UnpackPool;

  constructor(private readonly deps: ImagesDeps) {
    const dir = join(deps.root, 'images');
    this.content = new ContentStore(dir, deps.lock);
    this.layers = new LayerStore(dir, deps.lock);
    this.index = new ImageIndex(dir, deps.lock);
    this.rootfs = new ContainerRootfs(join(deps.root, 'overlay'), this.layers, deps.native);
  }

  async pull(reference: string, opts: PullCallOptions = {}): Promise<PullResult> {
    const ref = parseReference(reference);
    await mkdir(join(this.deps.root, 'images'), { recursive: true, mode: 0o700 });
    // The registry client, the unpacker and worker_threads load only when a
    // pull happens: every other verb (ps, rm, ...) pays Node's start-up alone.
    const [{ pullImage }, { RegistryClient }] = await Promise.all([import('./pull.js'), import('./registry/client.js')]);
    // A caller's own credentials (the API's X-Registry-Auth) get a client of
    // their own: the shared one caches tokens made with the stored ones.
    const client = opts.credentials
      ? new RegistryClient({ hosts: this.deps.hosts, credentials: opts.credentials })
      : (this.client ??= new RegistryClient({ hosts: this.deps.hosts, credentials: this.deps.credentials }));
    const pulled = await pullImage(
      { client, content: this.content, layers: this.layers, index: this.index, ...(await this.unpacker()) },
      ref,
      { platform: opts.platform ?? hostPlatform(), onEvent: opts.onEvent, concurrency: opts.concurrency },
    );
    await this.event('pull', familiarString(ref), familiarName(ref), pulled.config.config?.Labels ?? undefined);
    return pulled;
  }

  /**
   * Appends an image event to the root's journal (`docker events`): pull
   * and push name the reference, the others the image id; `name` is
   * Docker's `name` attribute. The journal loads only when one is made.
   */
  async event(action: string, id: string, name = id, labels?: Record<string, string>): Promise<void> {
    (await import('../events/emit.js')).imageEvent(this.deps.root, action, id, name, labels);
  }

  /**
   * `tsrun push`: the local image NAME[:TAG] to its registry, or with
   * allTags every local tag of NAME (which then must not carry a tag).
   */
  async push(reference: string, opts: { allTags?: boolean; onEvent?: (e: PushEvent) => void; concurrency?: number; credentials?: CredentialSource } = {}): Promise<PushResult[]> {
    const ref = parseReference(reference);
    // Like pull: the registry client loads only when a push happens (and a caller's own credentials get their own).
    const [{ pushImage, pushAllTags }, { RegistryPushClient }] = await Promise.all([import('./push.js'), import('./registry/upload.js')]);
    const client = opts.credentials
      ? new RegistryPushClient({ hosts: this.deps.hosts, credentials: opts.credentials })
      : (this.pushClient ??= new RegistryPushClient({ hosts: this.deps.hosts, credentials: this.deps.credentials }));
    const deps = { client, content: this.content, index: this.index };
    const pushOpts = { onEvent: opts.onEvent, concurrency: opts.concurrency };
    if (opts.allTags) {
      // A tag or digest after the last '/' (a ':' before it is a registry port).
      if (/[:@][^/]*$/.test(reference)) throw new TsrunError('INVALID_ARGUMENT', "tag can't be used with --all-tags/-a");
      const pushed = await pushAllTags(deps, ref, pushOpts);
      for (const r of pushed) await this.event('push', displayName(r.reference), familiarName(ref));
      return pushed;
    }
    const pushed = await pushImage(deps, ref, pushOpts);
    await this.event('push', familiarString(ref), familiarName(ref));
    return [pushed];
  }

  private async unpacker(): Promise<Pick<PullDeps, 'unpack' | 'warmUnpack'>> {
    if (this.deps.unpackInWorkers) {
      const { UnpackPool, workersAvailable } = await import('./unpack/pool.js');
      if (workersAvailable()) {
        const pool = (this.pool ??= new UnpackPool(UNPACK_WORKERS));
        return { unpack: (job, onBytes) => pool.unpack(job, onBytes), warmUnpack: (n) => pool.warm(n) };
      }
    }
    const { unpackLayer } = await import('./unpack/layer.js');
    return { unpack: (job, onBytes) => unpackLayer({ ...job, native: this.deps.native, onBytes }) };
  }

  /** Finds a local image, pulling it first as the policy says (run/create's --pull). */
  async ensure(reference: string, policy: PullPolicy, opts: PullCallOptions = {}): Promise<ImageView> {
    if (policy === 'always') {
      const { image } = await this.pull(reference, opts);
      return this.viewOf(await this.index.read(), image.id);
    }
    try {
      return await this.get(reference);
    } catch (err) {
      if (!(err instanceof TsrunError && err.code === 'IMAGE_NOT_FOUND') || policy === 'never') throw err;
    }
    const { image } = await this.pull(reference, opts);
    return this.viewOf(await this.index.read(), image.id);
  }

  async list(): Promise<ImageView[]> {
    const data = await this.index.read();
    const views = await Promise.all(Object.keys(data.images).map((id) => this.viewOf(data, id)));
    return views.sort((a, b) => (b.config.created ?? b.record.added).localeCompare(a.config.created ?? a.record.added));
  }

  /** Docker's lookup: a name[:tag] or name@digest, else a unique id prefix. */
  async get(reference: string): Promise<ImageView> {
    const data = await this.index.read();
    return this.viewOf(data, this.lookup(data, reference));
  }

  async config(id: string): Promise<ImageConfig> {
    return parseImageConfig(await this.content.read(id), id);
  }

  /** `tsrun tag SOURCE TARGET`. */
  async tag(source: string, target: string): Promise<void> {
    const ref = parseReference(target);
    if (ref.digest) throw new TsrunError('INVALID_REFERENCE', `refusing to create a tag with a digest reference: ${target}`);
    const id = await this.index.update((data) => (data.tags[`${repositoryName(ref)}:${ref.tag ?? 'latest'}`] = this.lookup(data, source)));
    await this.event('tag', id, familiarString(ref));
  }

  /**
   * `tsrun rmi`: untags the name given; deletes the image when no name is
   * left (or when given by id, with -f for several names). Refuses an image a
   * container uses. Returns Docker's "Untagged:"/"Deleted:" lines.
   */
  async remove(reference: string, force = false): Promise<string[]> {
    const inUse = await this.deps.imagesInUse();
    const out: string[] = [];
    let removedId = '';
    const deleted = await this.index.update((data) => {
      const id = (removedId = this.lookup(data, reference));
      const tags = tagsOf(data, id);
      const byName = !ID_PREFIX_RE.test(reference) || data.tags[this.tagKey(reference)] === id;
      const users = inUse.get(id) ?? [];
      if (byName && tags.length > 1) {
        // Docker: removing one of several names only untags it.
        const key = this.tagKey(reference);
        delete data.tags[key];
        out.push(`Untagged: ${displayName(key)}`);
        return false;
      }
      if (!byName && tags.length > 1 && !force) {
        throw new TsrunError('IMAGE_IN_USE', `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
      }
      if (users.length > 0) {
        throw new TsrunError('IMAGE_IN_USE', `conflict: unable to remove ${reference} (cannot be forced) - image ${shortId(id)} is being used by container ${users[0].slice(0, 12)}`);
      }
      for (const t of tags) {
        delete data.tags[t];
        out.push(`Untagged: ${displayName(t)}`);
      }
      for (const d of data.images[id].repoDigests) out.push(`Untagged: ${displayName(d)}`);
      delete data.images[id];
      out.push(`Deleted: ${id}`);
      return true;
    });
    if (deleted) await this.collectGarbage();
    // Docker's events: an untag per name that went, then the delete.
    for (const line of out) {
      if (line.startsWith('Untagged: ')) await this.event('untag', removedId, line.slice('Untagged: '.length));
      else await this.event('delete', removedId);
    }
    return out;
  }

  /**
   * `image prune`: dangling images (no name), or with `all` every image no
   * container uses; with `filters`, only those created before `until` and
   * matching the label filters (the config's Created and Labels). Returns
   * the ids and the bytes of the layers that went with them.
   */
  async prune(all: boolean, filters?: PruneFilters): Promise<{ deleted: string[]; reclaimed: number }> {
    // A store with no image (not even its directory yet) has nothing to lock.
    if (!Object.keys((await this.index.read()).images).length) return { deleted: [], reclaimed: 0 };
    const inUse = await this.deps.imagesInUse();
    const untagged: [id: string, name: string][] = [];
    const deleted = await this.index.update(async (data) => {
      const gone: string[] = [];
      for (const id of Object.keys(data.images)) {
        if (inUse.has(id)) continue;
        if (!all && tagsOf(data, id).length > 0) continue;
        if (!noFilters(filters)) {
          const config = await this.config(id).catch(() => null);
          if (!matchesPruneFilters(filters, { created: config?.created ?? data.images[id].added, labels: config?.config?.Labels ?? undefined })) continue;
        }
        for (const t of tagsOf(data, id)) {
          delete data.tags[t];
          untagged.push([id, displayName(t)]);
        }
        delete data.images[id];
        gone.push(id);
      }
      return gone;
    });
    for (const [id, name] of untagged) await this.event('untag', id, name);
    for (const id of deleted) await this.event('delete', id);
    if (!deleted.length) return { deleted, reclaimed: 0 };
    // The sizes of the layers garbage collection removes (a pull meanwhile only adds layers).
    const before = new Map(await Promise.all((await this.layers.list()).map(async (d) => [d, await this.layers.size(d)] as const)));
    await this.collectGarbage();
    for (const d of await this.layers.list()) before.delete(d);
    return { deleted, reclaimed: [...before.values()].reduce((a, b) => a + b, 0) };
  }

  /** Removes layers and blobs no image refers to. Runs under the index lock so a pull's commit sees a stable set. */
  async collectGarbage(): Promise<void> {
    await this.index.update(async (data) => {
      const diffIds = new Set<string>();
      const blobs = new Set<string>();
      for (const img of Object.values(data.images)) {
        blobs.add(img.id).add(img.manifestDigest);
        for (const rd of img.repoDigests) blobs.add(rd.slice(rd.lastIndexOf('@') + 1));
        for (const l of img.layers) {
          diffIds.add(l.diffId);
          blobs.add(l.digest);
        }
      }
      for (const l of (await this.deps.pinned?.()) ?? []) {
        diffIds.add(l.diffId);
        blobs.add(l.digest);
      }
      for (const d of await this.layers.list()) if (!diffIds.has(d)) await this.layers.remove(d);
      for (const d of await this.content.list()) if (!blobs.has(d)) await this.content.remove(d);
    });
  }


  private tagKey(reference: string): string {
    try {
      const ref = parseReference(reference);
      return ref.digest ? '' : `${repositoryName(ref)}:${ref.tag ?? 'latest'}`;
    } catch {
      return '';
    }
  }

  private lookup(data: IndexData, reference: string): string {
    let ref: ImageReference | undefined;
    try {
      ref = parseReference(reference);
    } catch (err) {
      if (!ID_PREFIX_RE.test(reference)) throw err;
    }
    if (ref) {
      if (ref.digest) {
        const want = `${repositoryName(ref)}@${ref.digest}`;
        const hit = Object.values(data.images).find((i) => i.repoDigests.includes(want) || (i.manifestDigest === ref!.digest && i.repoDigests.some((r) => r.startsWith(`${repositoryName(ref!)}@`))));
        if (hit) return hit.id;
      } else {
        const id = data.tags[`${repositoryName(ref)}:${ref.tag ?? 'latest'}`];
        if (id) return id;
      }
    }
    const m = ID_PREFIX_RE.exec(reference);
    if (m) {
      const hits = Object.keys(data.images).filter((id) => id.slice(7).startsWith(m[1]));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new TsrunError('INVALID_ARGUMENT', `image id prefix ${reference} is ambiguous`);
    }
    throw new TsrunError('IMAGE_NOT_FOUND', `No such image: ${reference}`);
  }

  private async viewOf(data: IndexData, id: string): Promise<ImageView> {
    const record = data.images[id];
    if (!record) throw new TsrunError('IMAGE_NOT_FOUND', `No such image: ${id}`);
    // The config and the layer sizes side by side (`create` looks an image up on every call).
    const [config, sizes] = await Promise.all([this.config(id), Promise.all(record.layers.map((l) => this.layers.size(l.diffId)))]);
    return { record, config, repoTags: tagsOf(data, id).map(displayName), size: sizes.reduce((a, b) => a + b, 0) };
  }
}

/** docker.io/library/alpine:latest → alpine:latest (Docker's familiar form). */
export function displayName(full: string): string {
  const at = full.lastIndexOf('@');
  const colon = full.lastIndexOf(':');
  const split = at > 0 ? at : colon > full.lastIndexOf('/') ? colon : full.length;
  try {
    return `${familiarName(parseReference(full.slice(0, split)))}${full.slice(split)}`;
  } catch {
    return full;
  }
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
