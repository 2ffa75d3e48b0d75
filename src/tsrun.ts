// The typed in-process API: `import { Tsrun } from 'tsrun'`.
import { native as realNative, type NativeBinding } from './native/binding.js';
import { Containers } from './runtime/containers.js';
import { ContainerStore } from './runtime/store.js';
import { fileLocker } from './util/lock.js';

export interface TsrunOptions {
  /** Persistent store (default /var/lib/tsrun). */
  root?: string;
  /** Runtime state (default /run/tsrun). */
  runroot?: string;
  /** Kernel facade; tests pass a fake. */
  native?: NativeBinding;
  /** Environment used for `-e KEY` lookups (default: none). */
  env?: Record<string, string | undefined>;
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

  constructor(opts: TsrunOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.runroot = opts.runroot ?? DEFAULT_RUNROOT;
    this.native = opts.native ?? realNative;
    this.store = new ContainerStore(this.root, fileLocker(this.native));
    this.containers = new Containers({
      native: this.native,
      store: this.store,
      root: this.root,
      runroot: this.runroot,
      hostEnv: opts.env ?? {},
    });
  }
}
