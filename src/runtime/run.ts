// `run` without -d: a monitored container like any other, with the caller
// attached before its process starts (so no output is lost) as the owner
// (if the caller is killed, so is the container).
import { TsrunError } from '../errors.js';
import { connectAttach, relayAttach, type Attachment, type AttachStreams, type RelayOptions } from './attach.js';
import type { Containers, CreateRequest } from './containers.js';

export interface AttachedRun {
  id: string;
  name: string;
  pid: number;
  attachment: Attachment;
  /** Docker's exit code: the process's own, or 128+N when signal N killed it; 0 when the caller detached (the detach keys). */
  exited: Promise<number>;
}

export async function runAttached(containers: Containers, req: CreateRequest, io: AttachStreams, relay: RelayOptions = {}): Promise<AttachedRun> {
  const state = await containers.create(req);
  let attachment: Attachment | undefined;
  try {
    await containers.start(state.id, {
      owner: true,
      beforeStart: async (dir) => {
        attachment = relayAttach(await connectAttach(dir), io, relay);
      },
    });
  } catch (err) {
    attachment?.detach();
    // The user never got a container out of this: leave nothing behind (its anonymous volumes too).
    await containers.remove(state.id, true, true).catch(() => {});
    throw err;
  }
  const { pid = 0 } = await containers.store.read(state.id);
  const att = attachment!;
  const exited = att.exited.then(async (code) => {
    // Detached: the container goes on (and whatever holds the connection now removes it for --rm).
    if (code === null && att.leftRunning) return 0;
    // No exit frame: the monitor is gone; the engine still knows what happened.
    const final = code ?? (await containers.waitStopped(state.id))?.exitCode ?? 255;
    if (req.autoRemove) await containers.remove(state.id, true).catch(ignoreMissing);
    return final;
  });
  return { id: state.id, name: state.name, pid, attachment: att, exited };
}

function ignoreMissing(err: unknown): void {
  if (!(err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND')) throw err;
}
