// `tsrun save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`:
// images → a tar on stdout or in FILE (written under a temp name, renamed
// when complete).
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { refuseTerminal, writeOutput } from '../archive-output.js';

export function addImageSave(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('save images to a tar archive (docker-archive, or an OCI layout with --format oci-archive)')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--format <format>', 'docker-archive (Docker 25+ layout, readable by docker and podman) or oci-archive', 'docker-archive')
    .action(async (refs: string[], flags: { output?: string; format: string }, cmd: Command) => {
      const { saveImages } = await import('../../image/archive/save.js');
      const { TsrunError } = await import('../../errors.js');
      if (flags.format !== 'docker-archive' && flags.format !== 'oci-archive') {
        throw new TsrunError('INVALID_ARGUMENT', `unsupported --format ${JSON.stringify(flags.format)}: use docker-archive or oci-archive`);
      }
      if (!flags.output) refuseTerminal();
      const images = (await tsrunFor(cmd)).images;
      await writeOutput(flags.output, (out) => saveImages(images, refs, out, flags.format as 'docker-archive' | 'oci-archive'));
    });
}

export function registerSave(program: Command): void {
  addImageSave(program, 'save');
}
