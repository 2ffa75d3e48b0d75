// `tsrun run [options] IMAGE [CMD [ARG...]]` (or --rootfs DIR CMD...): with -d, start a
// container and print its id; otherwise stay attached, forward signals,
// and exit with the container's code.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { addContainerOptions, toCreateRequest, type ContainerFlags } from '../run-options.js';

// Signals a terminal or a supervisor sends to us that belong to the container (Docker's --sig-proxy).
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function registerRun(program: Command): void {
  addContainerOptions(
    program
      .command('run')
      .description('run a command in a new container')
      .argument('[image-and-command...]', 'IMAGE [COMMAND [ARG...]] (with --rootfs: COMMAND [ARG...])')
      .option('-d, --detach', 'run in the background and print the container id'),
  ).action(async (command: string[], flags: ContainerFlags & { detach?: boolean }, cmd: Command) => {
    const tsrun = await tsrunFor(cmd);
    const req = await toCreateRequest(flags, command);
    if (flags.detach) {
      const state = await tsrun.containers.create(req);
      try {
        await tsrun.containers.start(state.id);
      } catch (err) {
        await tsrun.containers.remove(state.id, true, true).catch(() => {});
        throw err;
      }
      process.stdout.write(`${state.id}\n`);
      return;
    }
    // Listen before the container exists: a signal that arrives while it
    // starts is delivered as soon as there is a pid, not lost (or fatal to us).
    let pid: number | undefined;
    const pending: NodeJS.Signals[] = [];
    const forward = (sig: NodeJS.Signals): void => {
      if (pid === undefined) return void pending.push(sig);
      try { process.kill(pid, sig); } catch { /* already gone */ }
    };
    for (const sig of FORWARDED) process.on(sig, forward);
    const { runAttached } = await import('../../runtime/run.js');
    const out = process.stdout;
    const raw = !!(flags.tty && flags.interactive && process.stdin.isTTY);
    if (raw) process.stdin.setRawMode(true);
    try {
      const run = await runAttached(tsrun.containers, req, {
        stdin: flags.interactive ? process.stdin : undefined,
        stdout: out,
        stderr: flags.tty ? out : process.stderr,
      });
      pid = run.pid;
      pending.splice(0).forEach(forward);
      if (flags.tty && out.isTTY) out.on('resize', () => run.attachment.resize(out.rows, out.columns));
      // Our terminal hung up (window closed, ssh dropped): let go of the
      // container, which as its owner's connection closes is killed, instead
      // of living on as a PID 1 that ignores the forwarded SIGHUP.
      process.on('SIGHUP', () => run.attachment.detach());
      process.exitCode = await run.exited;
    } finally {
      if (raw) process.stdin.setRawMode(false);
    }
  });
}
