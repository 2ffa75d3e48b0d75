// Runs a container in the foreground: spec → store record → native spawn,
// then waits for it. The caller owns stdio and signal forwarding.
import { openSync, closeSync } from 'node:fs';
import type { NativeBinding } from '../native/binding.js';
import { buildSpec, type RunOptions } from '../spec/build.js';
import { setupError } from './exit-error.js';
import { toNativeConfig } from './native-config.js';
import { resolveMountTargets } from './mount-targets.js';
import { newContainerId, type ContainerState, type ContainerStore } from './store.js';

export interface RunRequest extends RunOptions {
  name?: string;
  /** --rm: delete the container record when it exits. */
  remove?: boolean;
}

export interface RunStdio {
  /** Host fd for the container's stdin; null gives it /dev/null (no -i). */
  stdin: number | null;
  stdout: number;
  stderr: number;
}

export interface RunningContainer {
  id: string;
  name: string;
  pid: number;
  /** The pty master when the container has a terminal. */
  ptyMaster: number | null;
  /** Resolves with Docker's exit code: the process's own, or 128+N for signal N. */
  exited: Promise<number>;
}

export interface RunDeps {
  native: NativeBinding;
  store: ContainerStore;
  hostEnv: Record<string, string | undefined>;
}

export async function runForeground(deps: RunDeps, req: RunRequest, stdio: RunStdio): Promise<RunningContainer> {
  const { native, store } = deps;
  const id = newContainerId();
  const spec = await buildSpec(req, { id, hostEnv: deps.hostEnv });
  const config = toNativeConfig(spec, { stdio: [stdio.stdin ?? -1, stdio.stdout, stdio.stderr], killOnParentDeath: true });
  await resolveMountTargets(config);
  const state = await store.create(id, spec, req.name);
  let nullFd = -1;
  let started;
  try {
    if (stdio.stdin === null) config.stdio[0] = nullFd = openSync('/dev/null', 'r');
    started = native.spawn(config);
  } catch (err) {
    await store.remove(state);
    throw setupError(err, spec.process.args);
  } finally {
    if (nullFd >= 0) closeSync(nullFd);
  }
  const running: ContainerState = { ...state, status: 'running', pid: started.pid, startedAt: new Date().toISOString() };
  await store.update(running);
  const exited = native.waitExit(started.pid).then(async (st) => {
    const code = st.exitCode ?? 128 + (st.signal ?? 0);
    if (req.remove) await store.remove(running);
    else await store.update({ ...running, status: 'exited', exitCode: code, finishedAt: new Date().toISOString(), pid: undefined });
    return code;
  });
  return { id: state.id, name: state.name, pid: started.pid, ptyMaster: started.ptyMaster >= 0 ? started.ptyMaster : null, exited };
}
