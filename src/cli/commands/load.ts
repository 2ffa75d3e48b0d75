// `tsrun load [-i FILE] [-q]`: images from a docker-archive or OCI archive
// (plain or gzip'd) on stdin or in FILE; prints Docker's "Loaded image:" lines.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function addImageLoad(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('load images from a tar archive (docker-archive or OCI layout, maybe gzip\'d)')
    .option('-i, --input <file>', 'read from a file instead of stdin')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (flags: { input?: string; quiet?: boolean }, cmd: Command) => {
      const { loadArchive } = await import('../../image/archive/load.js');
      const { displayName } = await import('../../image/images.js');
      const { TsrunError } = await import('../../errors.js');
      const { createReadStream } = await import('node:fs');
      if (!flags.input && process.stdin.isTTY) {
        throw new TsrunError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is a terminal: use -i FILE or redirect');
      }
      const tsrun = await tsrunFor(cmd);
      const input = flags.input ? createReadStream(flags.input) : process.stdin;
      const loaded = await loadArchive(tsrun.images, input, { native: tsrun.native });
      if (flags.quiet) return;
      for (const img of loaded) {
        if (img.names.length === 0) out(`Loaded image ID: ${img.id}\n`);
        for (const n of img.names) out(`Loaded image: ${displayName(n)}\n`);
      }
    });
}

export function registerLoad(program: Command): void {
  addImageLoad(program, 'load');
}
