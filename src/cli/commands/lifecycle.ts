// The small state-changing verbs, each Docker's: stop, kill, restart, rm,
// wait, pause, unpause, rename, container prune. Each prints the reference
// it acted on, and goes on to the next reference when one fails (exit 1).
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { forEachRef, tsrunFor } from '../context.js';
import { addCp } from './cp.js';
import { registerUpdate } from './update.js';
import { collect } from '../options.js';
import { out, writeFd } from '../write.js';

function parseTimeout(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new TsrunError('INVALID_ARGUMENT', `invalid value for --time: "${value}" (seconds)`);
  return Math.max(0, Number(value));
}

export function registerLifecycle(program: Command): void {
  program
    .command('stop')
    .description('stop running containers (the stop signal, then SIGKILL after the timeout)')
    .argument('<container...>')
    .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .option('-s, --signal <signal>', "signal to send first (default: the container's --stop-signal, the image's StopSignal, else SIGTERM)")
    .action(async (refs: string[], flags: { time?: string; signal?: string }, cmd: Command) => {
      const { parseSignal } = await import('../../runtime/signals.js');
      const timeout = flags.time === undefined ? undefined : parseTimeout(flags.time);
      const signal = flags.signal === undefined ? undefined : parseSignal(flags.signal);
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        const id = await c.resolve(ref);
        // Docker: stopping a stopped container is not an error; say so.
        if (!(await c.stop(id, timeout, signal))) writeFd(2, `tsrun: container ${ref} is not running\n`);
        return ref;
      });
    });

  program
    .command('kill')
    .description('send a signal (default SIGKILL) to running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal to send', 'SIGKILL')
    .action(async (refs: string[], flags: { signal: string }, cmd: Command) => {
      const { parseSignal } = await import('../../runtime/signals.js');
      const signal = parseSignal(flags.signal);
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        await c.kill(await c.resolve(ref), signal);
        return ref;
      });
    });

  program
    .command('restart')
    .description('restart containers')
    .argument('<container...>')
    .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .action(async (refs: string[], flags: { time?: string }, cmd: Command) => {
      const timeout = flags.time === undefined ? undefined : parseTimeout(flags.time);
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        const id = await c.resolve(ref);
        await c.restart(id, timeout);
        return ref;
      });
    });

  program
    .command('rm')
    .description('remove containers')
    .argument('<container...>')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'remove the anonymous volumes of the containers too')
    .action(async (refs: string[], flags: { force?: boolean; volumes?: boolean }, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        await c.remove(await c.resolve(ref), !!flags.force, !!flags.volumes);
        return ref;
      });
    });

  program
    .command('wait')
    .description('block until containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        const v = await c.waitStopped(await c.resolve(ref));
        return String(v?.exitCode ?? 0);
      });
    });

  program
    .command('pause')
    .description('freeze all processes of containers (cgroup freezer)')
    .argument('<container...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        await c.pause(await c.resolve(ref));
        return ref;
      });
    });

  program
    .command('unpause')
    .description('thaw paused containers')
    .argument('<container...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        await c.unpause(await c.resolve(ref));
        return ref;
      });
    });

  program
    .command('rename')
    .description('rename a container')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (ref: string, newName: string, _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      await c.rename(await c.resolve(ref), newName);
    });

  const container = program.command('container').description('manage containers');
  addCp(container);
  registerUpdate(container);
  container
    .command('prune')
    .description('remove all stopped containers')
    .option('-f, --force', 'do not prompt for confirmation (tsrun never prompts)')
    .option('--filter <filter>', 'until=DURATION|TIME, label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .action(async (flags: { filter?: string[] }, cmd: Command) => {
      const { parsePruneFilters } = await import('../../util/prune-filters.js');
      const filters = parsePruneFilters(flags.filter);
      const { deleted, reclaimed } = await (await tsrunFor(cmd)).containers.prune(filters);
      const { pruneSection, reclaimedLine } = await import('../prune-report.js');
      out(pruneSection('Deleted Containers', deleted) + reclaimedLine(reclaimed));
    });

  // What a container's monitor runs after it exits (Podman's `container cleanup`):
  // releases its addresses, ports and peers' hosts lines, and follows its
  // restart policy (which may sleep the backoff delay, then start it again).
  // Quiet and idempotent.
  container
    .command('cleanup')
    .description('release the network resources of stopped containers and apply their restart policy (run by their monitor)')
    .argument('<container...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      // The monitor ran us in its instance directory, which a restart deletes.
      process.chdir('/');
      const c = (await tsrunFor(cmd)).containers;
      await forEachRef(refs, async (ref) => {
        const id = await c.resolve(ref).catch(() => null);
        if (id) await c.cleanup(id);
      });
    });
}
