// Attaches that arrive before their container starts (the docker CLI's
// `run`: create, attach, wait, then start; `start -a`). The start handler
// connects them to the monitor's attach socket before the process runs, so
// no output is lost, as runAttached does for the CLI's own `run`.
import type { AttachSession } from './attach-session.js';
import type { ApiContext } from './context.js';

const pendingOf = (ctx: ApiContext): Map<string, Set<AttachSession>> => ctx.state('attach.pending', () => new Map());

/** Keeps `session` until the container's next start through the API; forgotten if its client goes first. */
export function waitForStart(ctx: ApiContext, id: string, session: AttachSession): void {
  const pending = pendingOf(ctx);
  let set = pending.get(id);
  if (!set) pending.set(id, (set = new Set()));
  set.add(session);
  void session.done.then(() => {
    set!.delete(session);
    if (set!.size === 0 && pending.get(id) === set) pending.delete(id);
  });
}

/** What `start` passes as core's beforeStart, when attaches wait for this container; else undefined. */
export function attachBeforeStart(ctx: ApiContext, id: string): ((stateDir: string) => Promise<void>) | undefined {
  const pending = pendingOf(ctx);
  const set = pending.get(id);
  const waiting = [...(set ?? [])].filter((s) => !s.gone);
  if (waiting.length === 0) return undefined;
  pending.delete(id);
  return async (dir) => {
    // An attach whose monitor connection fails fails the start, as the CLI's run does.
    await Promise.all(waiting.map((s) => s.connect(dir)));
  };
}
