// `tsrun import [-c CHANGE]... [-m MSG] [--platform P] FILE|- [REPOSITORY[:TAG]]`:
// a root filesystem tarball → a one-layer image; prints its id.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

export function addImageImport(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('make an image from a root filesystem tarball (FILE, or - for stdin)')
    .argument('<file>', 'a tar (plain, gzip or zstd), or - for stdin')
    .argument('[reference]', 'REPOSITORY[:TAG] to name the image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)', collect)
    .option('-m, --message <message>', 'the commit message in the image history')
    .option('--platform <os/arch[/variant]>', 'the platform to record (default: this host)')
    .action(async (source: string, reference: string | undefined, flags: { change?: string[]; message?: string; platform?: string }, cmd: Command) => {
      const { importRootfs, checkImportSource } = await import('../../image/archive/import.js');
      const { parsePlatform } = await import('../../image/platform.js');
      const { createReadStream } = await import('node:fs');
      checkImportSource(source);
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      const tsrun = await tsrunFor(cmd);
      const input = source === '-' ? process.stdin : createReadStream(source);
      const { id } = await importRootfs(tsrun.images, input, {
        native: tsrun.native, reference, changes: flags.change, message: flags.message, source, platform,
      });
      out(`${id}\n`);
    });
}

export function registerImport(program: Command): void {
  addImageImport(program, 'import');
}
