// `tsrun run [options] IMAGE [CMD [ARG...]]` (or --rootfs DIR CMD...): with -d, start a
// container and print its id; otherwise stay attached, forward signals,
// and exit with the container's code.
import type { Command } from 'commander';
import type { ContainerFlags } from '../../flags/container-flags.js';
import { attachedRunOptions } from '../../flags/run-config.js';
import type { Attachment } from '../../runtime/attach.js';
import { tsrunFor } from '../context.js';
import { addContainerOptions, toCreateRequest } from '../run-options.js';
import { addAttachedRunOptions, addRunConfigOptions, createCidfile } from '../run-flags.js';

// Signals a terminal or a supervisor sends to us that belong to the container (Docker's --sig-proxy).
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function registerRun(program: Command): void {
  addContainerOptions(addAttachedRunOptions(addRunConfigOptions(
    program
      .command('run')
      .description('run a command in a new container')
      .argument('[image-and-command...]', 'IMAGE [COMMAND [ARG...]] (with --rootfs: COMMAND [ARG...])')
      .option('-d, --detach', 'run in the background and print the container id'),
  ))).action(async (command: string[], flags: ContainerFlags & { detach?: boolean }, cmd: Command) => {
    const tsrun = await tsrunFor(cmd);
    const req = await toCreateRequest(flags, command);
    // Docker's run: attached input closes the container's stdin when it ends (StdinOnce); -d -i keeps it open for attaches.
    if (flags.interactive && !flags.detach) req.stdinOnce = true;
    const { sigProxy, detachKeys } = await attachedRunOptions(flags);
    // Docker makes the file before the container, and removes it if that fails.
    const cidfile = flags.cidfile === undefined ? undefined : await createCidfile(flags.cidfile);
    if (flags.detach) {
      let state;
      try {
        state = await tsrun.containers.create(req);
        cidfile?.write(state.id);
        await tsrun.containers.start(state.id);
      } catch (err) {
        if (state) await tsrun.containers.remove(state.id, true, true).catch(() => {});
        cidfile?.remove();
        throw err;
      }
      process.stdout.write(`${state.id}\n`);
      return;
    }
    // Listen before the container exists: a signal that arrives while it
    // starts is delivered as soon as there is a pid, not lost (or fatal to us).
    let pid: number | undefined;
    const pending: NodeJS.Signals[] = [];
    const { runAttached } = await import('../../runtime/run.js');
    let run: Awaited<ReturnType<typeof runAttached>> | undefined;
    // The monitor kills a container whose owner lets go: the connection is handed on (and with it, --rm's removal).
    const handOff = (a: Attachment): void => a.handOff(run && req.autoRemove ? tsrun.containers.selfCommand('rm', '-f', run.id) : undefined);
    // --sig-proxy=false: as Docker's client, tsrun itself goes (128+N) and the container runs on.
    let leftOn: NodeJS.Signals | undefined;
    const forward = (sig: NodeJS.Signals): void => {
      if (pid === undefined) return void pending.push(sig);
      if (!sigProxy) {
        leftOn ??= sig;
        return handOff(run!.attachment);
      }
      try { process.kill(pid, sig); } catch { /* already gone */ }
    };
    for (const sig of FORWARDED) if (sigProxy || sig !== 'SIGHUP') process.on(sig, forward);
    const out = process.stdout;
    const raw = !!(flags.tty && flags.interactive && process.stdin.isTTY);
    if (raw) process.stdin.setRawMode(true);
    try {
      // -a: the streams not named go nowhere.
      const attach = req.runConfig?.attach ?? { stdin: !!flags.interactive, stdout: true, stderr: true };
      const { Writable } = await import('node:stream');
      const sink = () => new Writable({ write: (_c, _e, done) => done() });
      const stdin = flags.interactive && attach.stdin ? process.stdin : undefined;
      try {
        run = await runAttached(tsrun.containers, req, {
          stdin,
          stdout: attach.stdout ? out : sink(),
          stderr: flags.tty ? (attach.stdout ? out : sink()) : attach.stderr ? process.stderr : sink(),
        }, {
          // Docker's escape keys, read from a terminal (piped input passes as it is).
          detachKeys: stdin && (flags.tty || process.stdin.isTTY) ? detachKeys : undefined,
          onDetachKeys: handOff,
        });
        cidfile?.write(run.id);
      } catch (err) {
        cidfile?.remove();
        throw err;
      }
      const started = run;
      pid = started.pid;
      pending.splice(0).forEach(forward);
      if (flags.tty && out.isTTY) out.on('resize', () => started.attachment.resize(out.rows, out.columns));
      // Our terminal hung up (window closed, ssh dropped): let go of the
      // container, which as its owner's connection closes is killed, instead
      // of living on as a PID 1 that ignores the forwarded SIGHUP.
      process.on('SIGHUP', () => started.attachment.detach());
      const code = await started.exited;
      // node:os only when a signal ended it (a module the shell would otherwise load for every verb).
      process.exitCode = leftOn ? 128 + (await import('node:os')).constants.signals[leftOn] : code;
    } finally {
      if (raw) process.stdin.setRawMode(false);
    }
  });
}
