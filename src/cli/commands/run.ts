// `tsrun run [options] --rootfs DIR CMD [ARG...]`: a foreground container
// whose stdio is ours, whose signals we forward, and whose exit code is ours.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { collect, globalOptions } from '../options.js';

interface RunFlags {
  rootfs?: string;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  init?: boolean;
  readOnly?: boolean;
}

// Signals a terminal or a supervisor sends to us that belong to the container (Docker's --sig-proxy).
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a command in a new container')
    .argument('<command...>', 'command and arguments to run in the container')
    .requiredOption('--rootfs <dir>', 'root filesystem directory to run from')
    .option('-i, --interactive', 'keep stdin open and attached')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--rm', 'remove the container when it exits')
    .option('--name <name>', 'container name')
    .option('-e, --env <KEY[=VALUE]>', 'set an environment variable (repeatable)', collect)
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid, with an optional group')
    .option('-h, --hostname <name>', 'container host name')
    .option('--entrypoint <cmd>', 'override the default entrypoint')
    .option('--init', 'run a minimal init as PID 1 that forwards signals and reaps zombies')
    .option('--read-only', 'mount the root filesystem read-only')
    .helpOption('--help', 'display help for command')
    .passThroughOptions()
    .action(async (command: string[], flags: RunFlags, cmd: Command) => {
      const { Tsrun } = await import('../../tsrun.js');
      const { root, runroot } = globalOptions(cmd);
      const tsrun = new Tsrun({ root, runroot, env: process.env });
      const out = process.stdout;
      // Listen before the container exists: a signal that arrives while it
      // starts is delivered as soon as there is a pid, not lost (or fatal to us).
      let pid: number | undefined;
      const pending: NodeJS.Signals[] = [];
      const forward = (sig: NodeJS.Signals): void => {
        if (pid === undefined) return void pending.push(sig);
        try { process.kill(pid, sig); } catch { /* already gone */ }
      };
      for (const sig of FORWARDED) process.on(sig, forward);
      const c = await tsrun.run(
        {
          rootfs: resolve(flags.rootfs!),
          command,
          entrypoint: flags.entrypoint,
          env: flags.env,
          envFiles: flags.envFile,
          workdir: flags.workdir,
          user: flags.user,
          hostname: flags.hostname,
          tty: flags.tty,
          consoleSize: flags.tty && out.isTTY ? { rows: out.rows, cols: out.columns } : undefined,
          init: flags.init,
          readOnly: flags.readOnly,
          name: flags.name,
          remove: flags.rm,
        },
        { stdin: flags.interactive ? 0 : null, stdout: 1, stderr: 2 },
      );
      pid = c.pid;
      pending.splice(0).forEach(forward);
      let relayDone: Promise<void> = Promise.resolve();
      let restore = (): void => {};
      if (c.ptyMaster !== null) {
        const { relayTerminal } = await import('../../runtime/console.js');
        const input = flags.interactive ? process.stdin : undefined;
        if (input && process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          restore = () => process.stdin.setRawMode(false);
        }
        const relay = relayTerminal(tsrun.native, c.ptyMaster, { input, output: out });
        if (out.isTTY) out.on('resize', () => relay.resize(out.rows, out.columns));
        // Our terminal hung up (window closed, ssh dropped): hang up the
        // container's too, so its shell sees EOF instead of living on as
        // PID 1, which ignores the forwarded SIGHUP.
        process.on('SIGHUP', () => relay.close());
        relayDone = relay.done.finally(() => relay.close());
      }
      const code = await c.exited;
      // Output still buffered in the pty after exit; don't wait forever for it.
      await Promise.race([relayDone, new Promise((r) => setTimeout(r, 2000).unref())]);
      restore();
      process.exitCode = code;
    });
}
