// `tsrun attach CONTAINER`: reconnect to a running container's stdio or pty.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { tsrunFor } from '../context.js';

export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description("attach to a running container's input and output")
    .argument('<container>')
    .option('--no-stdin', 'do not attach stdin')
    .option('--detach-keys <keys>', 'the key sequence that detaches, leaving the container running (default ctrl-p,ctrl-q)')
    .action(async (ref: string, flags: { stdin: boolean; detachKeys?: string }, cmd: Command) => {
      const { DEFAULT_DETACH_KEYS, parseDetachKeys } = await import('../../runtime/detach-keys.js');
      const detachKeys = parseDetachKeys(flags.detachKeys ?? DEFAULT_DETACH_KEYS);
      const tsrun = await tsrunFor(cmd);
      const c = tsrun.containers;
      const id = await c.resolve(ref);
      const v = await c.view(id);
      if (v.status !== 'running' && v.status !== 'paused') {
        throw new TsrunError('INVALID_STATE', 'You cannot attach to a stopped container, start it first');
      }
      const { connectAttach, relayAttach } = await import('../../runtime/attach.js');
      const tty = !!v.spec.process.terminal;
      const raw = tty && flags.stdin && process.stdin.isTTY;
      if (raw) process.stdin.setRawMode(true);
      try {
        const conn = await connectAttach(c.engine.dir(id));
        await c.attached(id);
        const a = relayAttach(conn, {
          stdin: flags.stdin ? process.stdin : undefined,
          stdout: process.stdout,
          stderr: process.stderr,
        }, { detachKeys: flags.stdin && (tty || process.stdin.isTTY) ? detachKeys : undefined });
        if (tty && process.stdout.isTTY) {
          a.resize(process.stdout.rows, process.stdout.columns);
          process.stdout.on('resize', () => a.resize(process.stdout.rows, process.stdout.columns));
        }
        const code = await a.exited;
        // Detached by the keys: the container goes on.
        process.exitCode = a.leftRunning ? 0 : (code ?? (await c.waitStopped(id))?.exitCode ?? 0);
      } finally {
        if (raw) process.stdin.setRawMode(false);
      }
    });
}
