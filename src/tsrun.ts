// The typed in-process API: `import { Tsrun } from 'tsrun'`.
import { native as realNative, type NativeBinding } from './native/binding.js';
import { Images } from './image/images.js';
import { Containers } from './runtime/containers.js';
import { ContainerStore } from './runtime/store.js';
import { DockerConfigCredentials } from './image/registry/credentials.js';
import { fileLocker } from './util/lock.js';
import { VolumeStore } from './volume/store.js';
import { volumeNames } from './volume/mounts.js';

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

  constructor(opts: TsrunOptions = {}) {
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
      imagesInUse: () => this.imagesInUse(),
      unpackInWorkers: opts.native === undefined,
    });
    this.volumes = new VolumeStore({ root: this.root, lock: fileLocker(this.native), usersOf: () => this.volumesInUse() });
    this.containers = new Containers({
      native: this.native,
      store: this.store,
      root: this.root,
      runroot: this.runroot,
      hostEnv: opts.env ?? {},
      images: this.images,
      volumes: this.volumes,
    });
  }

  /** Volume name → the containers (running or not) whose mounts use it, as "name (id12)". */
  private async volumesInUse(): Promise<Map<string, string[]>> {
    const users = new Map<string, string[]>();
    for (const id of await this.store.ids()) {
      const rec = await this.store.read(id).catch(() => null);
      for (const name of volumeNames(rec?.request?.mounts)) users.set(name, [...(users.get(name) ?? []), `${rec!.name} (${id.slice(0, 12)})`]);
    }
    return users;
  }

  /** Image id → the containers that run it (rmi and prune leave those alone). */
  private async imagesInUse(): Promise<Map<string, string[]>> {
    const users = new Map<string, string[]>();
    for (const id of await this.store.ids()) {
      const imageId = (await this.store.read(id).catch(() => null))?.request?.imageId;
      if (imageId) users.set(imageId, [...(users.get(imageId) ?? []), id]);
    }
    return users;
  }
}
