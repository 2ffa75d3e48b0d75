// `tsrun export [-o FILE] CONTAINER`: the container's filesystem as a tar.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { refuseTerminal, writeOutput } from '../archive-output.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("export a container's filesystem as a tar archive")
    .argument('<container>')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (ref: string, flags: { output?: string }, cmd: Command) => {
      const { exportContainer } = await import('../../image/archive/export.js');
      if (!flags.output) refuseTerminal();
      const tsrun = await tsrunFor(cmd);
      await writeOutput(flags.output, (out) => exportContainer({ containers: tsrun.containers, images: tsrun.images, native: tsrun.native }, ref, out));
    });
}
