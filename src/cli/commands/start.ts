// `tsrun start [-a] [-i] CONTAINER...`
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach stdout/stderr and exit with the container's code")
    .option('-i, --interactive', "attach the container's stdin")
    .action(async (refs: string[], flags: { attach?: boolean; interactive?: boolean }, cmd: Command) => {
      const tsrun = await tsrunFor(cmd);
      const c = tsrun.containers;
      if (!flags.attach) {
        await forEachRef(refs, async (ref) => {
          await c.start(await c.resolve(ref));
          return ref;
        });
        return;
      }
      const { connectAttach, relayAttach } = await import('../../runtime/attach.js');
      const id = await c.resolve(refs[0]);
      let attachment: ReturnType<typeof relayAttach> | undefined;
      await c.start(id, {
        beforeStart: async (dir) => {
          const io = { stdin: flags.interactive ? process.stdin : undefined, stdout: process.stdout, stderr: process.stderr };
          attachment = relayAttach(await connectAttach(dir), io);
        },
      });
      const code = await attachment!.exited;
      process.exitCode = code ?? (await c.waitStopped(id))?.exitCode ?? 255;
    });
}
