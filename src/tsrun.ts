// The typed in-process API: `import { Tsrun } from 'tsrun'`.
import { join } from 'node:path';
import { native as realNative, type NativeBinding } from './native/binding.js';
import { Images } from './image/images.js';
import { Containers } from './runtime/containers.js';
import { ContainerStore, type ContainerState } from './runtime/store.js';
import { DockerConfigCredentials } from './image/registry/credentials.js';
import { fileLocker } from './util/lock.js';
import { VolumeStore } from './volume/store.js';
import { volumeNames } from './volume/mounts.js';
import type { Networks } from './network/networks.js';
import { existsSync } from 'node:fs';

export interface TsrunOptions {
  /** Persistent store (default /var/lib/tsrun). */
  root?: string;
  /** Runtime state (default /run/tsrun). */
  runroot?: string;
  /** Kernel facade; tests pass a fake. */
  native?: NativeBinding;
  /** Environment used for `-e KEY` lookups (default: none). */
  env?: Record<string, string | undefined>;
  /** Registry mirrors for docker.io references (Docker's registry-mirrors). */
  registryMirrors?: string[];
  /** Registries (HOST[:PORT]) that may be reached over plain http. */
  insecureRegistries?: string[];
  /** Docker config.json files holding registry credentials, first one is written by login. */
  authFiles?: string[];
  /** The network of containers made without --network (default `bridge`; `none` on hosts without bridges). */
  defaultNetwork?: string;
  /** The subnet of the default `bridge` network (default: the first free of 10.88.0.0/16, 10.89.0.0/16, ...). */
  defaultSubnet?: string;
  /** Docker's userns-remap: default (the user "tsrun") or USER[:GROUP]; containers without --userns get its subordinate ids. */
  usernsRemap?: string;
}

export const DEFAULT_ROOT = '/var/lib/tsrun';
export const DEFAULT_RUNROOT = '/run/tsrun';

export class Tsrun {
  readonly root: string;
  readonly runroot: string;
  readonly native: NativeBinding;
  readonly store: ContainerStore;
  /** create/start/stop/kill/rm/exec/... with Docker's semantics. */
  readonly containers: Containers;
  /** pull/list/tag/rmi/... and the containers' overlay root filesystems. */
  readonly images: Images;
  /** Named and anonymous volumes: create/ls/inspect/rm/prune. */
  readonly volumes: VolumeStore;
  private networksLoaded?: Promise<Networks>;

  constructor(private readonly opts: TsrunOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.runroot = opts.runroot ?? DEFAULT_RUNROOT;
    this.native = opts.native ?? realNative;
    this.store = new ContainerStore(this.root, fileLocker(this.native));
    this.images = new Images({
      root: this.root,
      native: this.native,
      // A pull of a layer another pull is fetching waits for it, however long it takes.
      lock: fileLocker(this.native, 6 * 3600_000),
      hosts: { mirrors: opts.registryMirrors, insecure: opts.insecureRegistries },
      credentials: opts.authFiles?.length ? new DockerConfigCredentials({ readPaths: opts.authFiles }) : undefined,
      imagesInUse: () => this.containersBy((r) => (r.request?.imageId ? [r.request.imageId] : []), (r) => r.id),
      unpackInWorkers: opts.native === undefined,
      // The build cache's layers stay until `builder prune`; its code loads only when GC runs.
      pinned: async () => new (await import('./build/cache.js')).BuildCache(this.root).pinned(),
    });
    this.volumes = new VolumeStore({ root: this.root, lock: fileLocker(this.native), usersOf: () =>
      this.containersBy((r) => volumeNames(r.request?.mounts), (r) => `${r.name} (${r.id.slice(0, 12)})`),
    });
    this.containers = new Containers({
      native: this.native,
      store: this.store,
      root: this.root,
      runroot: this.runroot,
      hostEnv: opts.env ?? {},
      images: this.images,
      volumes: this.volumes,
      networks: () => this.networks(),
      defaultNetwork: opts.defaultNetwork,
      usernsRemap: opts.usernsRemap,
    });
  }

  /**
   * Bridge networks: create/ls/inspect/rm/prune, and the containers'
   * addresses and ports. Loaded on first use: its modules (child_process,
   * net, dgram, nft and ip plumbing) would cost every other verb ~13 ms.
   */
  networks(): Promise<Networks> {
    this.networksLoaded ??= (async () => {
      const [{ Networks }, { defaultBridgeFor }] = await Promise.all([import('./network/networks.js'), import('./network/config.js')]);
      return new Networks({
        root: this.root,
        lock: fileLocker(this.native),
        defaultBridge: defaultBridgeFor(this.root, DEFAULT_ROOT),
        defaultSubnet: this.opts.defaultSubnet,
        hostsFileOf: (id) => join(this.store.dir(id), 'hosts'),
        containerExists: async (id) => existsSync(join(this.store.dir(id), 'state.json')),
      });
    })();
    return this.networksLoaded;
  }

  /**
   * Each key `keysOf` finds in a container record (an image id, a volume
   * name) → the containers, running or not, that hold it, as `label` shows
   * them. rmi, image prune and volume rm leave those alone.
   */
  private async containersBy(keysOf: (r: ContainerState) => string[], label: (r: ContainerState) => string): Promise<Map<string, string[]>> {
    const users = new Map<string, string[]>();
    for (const id of await this.store.ids()) {
      const rec = await this.store.read(id).catch(() => null); // removed meanwhile
      if (!rec) continue;
      for (const key of keysOf(rec)) users.set(key, [...(users.get(key) ?? []), label(rec)]);
    }
    return users;
  }
}
