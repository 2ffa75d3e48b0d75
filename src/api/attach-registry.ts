// Attaches that arrive before their container starts (the docker CLI's
// `run`: create, attach, wait, then start). The start handler connects them
// to the monitor's attach socket before the process runs, so no output is
// lost, as runAttached does for the CLI's own `run`.
import type { ApiContext } from './context.js';

/** What `start` passes as core's beforeStart, when attaches wait for this container; else undefined. */
export function attachBeforeStart(_ctx: ApiContext, _id: string): ((stateDir: string) => Promise<void>) | undefined {
  return undefined; // (the attach endpoint fills this in: routes/container-io.ts)
}
