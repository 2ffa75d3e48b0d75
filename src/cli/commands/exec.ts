// `tsrun exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...`:
// a new process in every namespace and the cgroup of a running container.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';

interface ExecFlags { interactive?: boolean; tty?: boolean; detach?: boolean; env?: string[]; workdir?: string; user?: string }

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-d, --detach', 'run the command in the background')
    .option('-e, --env <KEY[=VALUE]>', 'set an environment variable (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid, with an optional group')
    .helpOption('--help', 'display help for command')
    .passThroughOptions()
    .action(async (ref: string, command: string[], flags: ExecFlags, cmd: Command) => {
      const { openSync, closeSync } = await import('node:fs');
      const tsrun = await tsrunFor(cmd);
      const c = tsrun.containers;
      const id = await c.resolve(ref);
      const proc = await c.execProcess(id, { args: command, env: flags.env, workdir: flags.workdir, user: flags.user, tty: flags.tty });
      if (flags.tty && process.stdout.isTTY) proc.consoleSize = { height: process.stdout.rows, width: process.stdout.columns };
      const devnull = openSync('/dev/null', 'r+');
      try {
        const stdin = flags.interactive && !flags.detach ? 0 : devnull;
        const stdio: [number, number, number] = flags.detach ? [devnull, devnull, devnull] : [stdin, 1, 2];
        const started = await c.exec(id, proc, { stdio, killOnParentDeath: !flags.detach });
        if (flags.detach) return;
        let relayDone: Promise<void> = Promise.resolve();
        let restore = (): void => {};
        if (started.ptyMaster !== null) {
          const { relayTerminal } = await import('../../runtime/console.js');
          const input = flags.interactive ? process.stdin : undefined;
          if (input && process.stdin.isTTY) {
            process.stdin.setRawMode(true);
            restore = () => process.stdin.setRawMode(false);
          }
          const relay = relayTerminal(tsrun.native, started.ptyMaster, { input, output: process.stdout });
          if (process.stdout.isTTY) process.stdout.on('resize', () => relay.resize(process.stdout.rows, process.stdout.columns));
          relayDone = relay.done.finally(() => relay.close());
        }
        const st = await tsrun.native.waitExit(started.pid);
        await Promise.race([relayDone, new Promise((r) => setTimeout(r, 2000).unref())]);
        restore();
        process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
        await started.exited(process.exitCode);
      } finally {
        closeSync(devnull);
      }
    });
}
