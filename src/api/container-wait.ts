// Docker's wait conditions over core's waitStopped: `not-running` (what
// `tsrun wait` does), `next-exit` (the exit of a run that has yet to
// start: the docker CLI's `run` asks before it starts the container) and
// `removed` (`run --rm`: the exit code of the container its monitor then
// removes). Every wait ends early, with null, when `signal` aborts.
import { setTimeout as sleep } from 'node:timers/promises';
import { TsrunError } from '../errors.js';
import { readJournal } from '../events/index.js';
import type { Containers, ContainerView } from '../runtime/containers.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

const isLive = (v: ContainerView): boolean => v.status === 'running' || v.status === 'paused' || v.status === 'restarting';

/** The exit code the condition ends with, or null when aborted. The container must exist when called (else CONTAINER_NOT_FOUND). */
export async function waitCondition(c: Containers, root: string, id: string, condition: WaitCondition, signal: AbortSignal): Promise<number | null> {
  const first = await c.view(id);
  if (condition === 'not-running') return (await c.waitStopped(id, Infinity, signal))?.exitCode ?? null;
  // The exit this wait is for has not been seen yet.
  let code: number | null = null;
  try {
    code = await nextExit(c, id, first, signal);
    if (code === null || condition === 'next-exit') return code;
    // removed: until the record is gone (its monitor's `rm -f` for AutoRemove).
    // (A removal's own views show the record's stale exit code: only a new run's exit replaces the one seen.)
    for (let i = 0; !signal.aborted; i++) {
      const v = await c.view(id);
      if (isLive(v)) code = (await c.waitStopped(id, Infinity, signal))?.exitCode ?? code;
      else await pause(Math.min(50, 5 + i), signal);
    }
    return null;
  } catch (err) {
    // A view read while the container is being removed can fail on any of its files.
    if (!(err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND') && !(await goneSoon(c, id))) throw err;
    // Removed: its last exit code, from what we saw, else from its die event.
    return code ?? lastDieCode(root, id) ?? 0;
  }
}

/**
 * The exit of the container's next run: if it runs now, this one; else the
 * one a start begins (seen as a run going on, or as a new start or finish
 * time when it ended between two looks). Only an exit its monitor recorded
 * counts (see `recorded`).
 */
async function nextExit(c: Containers, id: string, first: ContainerView, signal: AbortSignal): Promise<number | null> {
  for (let i = 0; !signal.aborted; i++) {
    let v: ContainerView | null = i === 0 ? first : await c.view(id);
    const ended = i > 0 && !isLive(v) && (v.finishedAt !== first.finishedAt || v.startedAt !== first.startedAt);
    // A run going on, or one that has just ended (a quick exit under load
    // is often first seen so): the process is gone a moment before its
    // monitor writes exit.json, and meanwhile the view says "exited" with
    // the placeholder code 255 and an error. waitStopped waits that moment
    // out while the monitor lives (255 only when it died without a word).
    if (isLive(v) || (ended && v.error)) {
      v = await c.waitStopped(id, Infinity, signal);
      if (!v) return null;
    } else if (!ended) {
      // A `run` starts it within milliseconds; a container nobody starts costs a look every 50 ms.
      await pause(Math.min(50, 2 + i), signal);
      continue;
    }
    if (recorded(v)) return v.exitCode;
    // An `rm` (AutoRemove's, by the monitor) is under way: it deletes the
    // instance, and exit.json with it, before the record, whose exit code
    // is not this run's. Look again: the container is soon gone, and its
    // die event has the code (waitCondition).
    await pause(Math.min(50, 2 + i), signal);
  }
  return null;
}

/**
 * Whether a view of a run that has ended carries that run's exit: from its
 * monitor's exit.json (a finish time), or the 255 of a monitor that went
 * without writing one (an error). A view with neither is the record alone,
 * whose instance an `rm` has just deleted.
 */
const recorded = (v: ContainerView): boolean => v.status !== 'exited' || v.finishedAt !== undefined || !!v.error;

/** True when the container is gone, or goes within a second (a removal under way deletes its files one by one). */
async function goneSoon(c: Containers, id: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const there = await c.resolve(id).then(
      () => true,
      () => false,
    );
    if (!there) return true;
    await sleep(10);
  }
  return false;
}

function lastDieCode(root: string, id: string): number | undefined {
  const die = readJournal(root).reverse().find((e) => e.Type === 'container' && e.Action === 'die' && e.Actor.ID === id);
  const code = die?.Actor.Attributes?.exitCode;
  return code === undefined ? undefined : Number(code);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {});
}
