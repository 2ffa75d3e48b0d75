// The typed in-process API: `import { Tsrun } from 'tsrun'`.
import { mkdir } from 'node:fs/promises';
import { native as realNative, type NativeBinding } from './native/binding.js';
import { runForeground, type RunningContainer, type RunRequest, type RunStdio } from './runtime/run.js';
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
  readonly containers: ContainerStore;
  private readonly env: Record<string, string | undefined>;

  constructor(opts: TsrunOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.runroot = opts.runroot ?? DEFAULT_RUNROOT;
    this.native = opts.native ?? realNative;
    this.env = opts.env ?? {};
    this.containers = new ContainerStore(this.root, fileLocker(this.native));
  }

  /** Starts a container attached to the given fds; await `.exited` for its exit code. */
  async run(req: RunRequest, stdio: RunStdio): Promise<RunningContainer> {
    await mkdir(this.runroot, { recursive: true, mode: 0o700 });
    return runForeground({ native: this.native, store: this.containers, hostEnv: this.env }, req, stdio);
  }
}
