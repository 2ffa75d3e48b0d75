// What every handler shares: the core object (the same one the CLI builds)
// and per-subsystem state kept for the service's life (pending attaches,
// exec sessions), each owned by the route module that made it.
import type { InfoOptions } from '../system/info.js';
import type { Tsrun } from '../tsrun.js';

export class ApiContext {
  private readonly states = new Map<string, unknown>();

  /** The global options the service was started with (info reports them; pulls and pushes use the registries). */
  constructor(readonly tsrun: Tsrun, readonly infoOptions: InfoOptions = {}) {}

  /** The state a route module keeps under `key`, made by `init` on first use. */
  state<T>(key: string, init: () => T): T {
    if (!this.states.has(key)) this.states.set(key, init());
    return this.states.get(key) as T;
  }
}
