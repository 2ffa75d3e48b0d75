// `kill`, `delete`, `pause`, `resume`: one engine call each.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { engineWith } from './context.js';

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
      await (await engineWith(cmd, id)).kill(id, sig, !!flags.all);
    });

  program
    .command('delete')
    .description('delete the container and everything it holds (its cgroup, its state)')
    .argument('<container-id>')
    .option('-f, --force', 'kill the container first if it is still running (SIGKILL)')
    .action(async (id: string, flags: { force?: boolean }, cmd: Command) => {
      try {
        await (await engineWith(cmd, id)).delete(id, !!flags.force);
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
