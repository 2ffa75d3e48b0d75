// `kill`, `delete`, `pause`, `resume`: one engine call each.
//
// Engines parse these errors, so they carry runc's words: containerd's shim
// takes a failed `kill` for "already exited" only when the text contains
// "container not running", "no such process" or "does not exist" (anything
// else and CRI's StopContainer waits out its timeout), and a failed
// `delete` for "already gone" only with "does not exist" (the engine's
// CONTAINER_NOT_FOUND message says that).
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { engineWith, globals, log } from './context.js';

export function registerLifecycle(program: Command): void {
  program
    .command('kill')
    .description("send a signal (default SIGTERM) to the container's init process")
    .argument('<container-id>')
    .argument('[signal]', 'name (KILL, SIGKILL) or number', 'SIGTERM')
    .option('-a, --all', 'send the signal to every process in the container')
    .action(async (id: string, signal: string, flags: { all?: boolean }, cmd: Command) => {
      const { parseSignal } = await import('../../runtime/signals.js');
      const sig = parseSignal(signal);
      try {
        await (await engineWith(cmd, id)).kill(id, sig, !!flags.all);
      } catch (err) {
        // runc's libcontainer.ErrNotRunning, word for word.
        if (err instanceof TsrunError && err.code === 'INVALID_STATE') throw new TsrunError('INVALID_STATE', 'container not running', { cause: err });
        throw err;
      }
    });

  program
    .command('delete')
    .description('delete the container and everything it holds (its cgroup, its state)')
    .argument('<container-id>')
    .option('-f, --force', 'kill the container first if it is still running (SIGKILL)')
    .action(async (id: string, flags: { force?: boolean }, cmd: Command) => {
      try {
        for (const w of await (await engineWith(cmd, id)).delete(id, !!flags.force)) log(globals(cmd), 'warning', w);
      } catch (err) {
        // runc: deleting a container that does not exist is no error with --force.
        if (flags.force && err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND') return;
        throw err;
      }
    });

  program
    .command('pause')
    .description('suspend every process in the container (cgroup freezer)')
    .argument('<container-id>')
    .action(async (id: string, _f: unknown, cmd: Command) => {
      await (await engineWith(cmd, id)).pause(id);
    });

  program
    .command('resume')
    .description('resume every process of a paused container')
    .argument('<container-id>')
    .action(async (id: string, _f: unknown, cmd: Command) => {
      await (await engineWith(cmd, id)).resume(id);
    });
}
