// `tsrun builder prune`: drops the build cache (its entries and RUN cache
// mounts) and what killed builds left behind, then the layers nothing uses.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerBuilder(program: Command): void {
  const builder = program.command('builder').description('manage the build cache');
  builder
    .command('prune')
    .description('remove the build cache')
    .option('-a, --all', 'remove all of it (tsrun always does)')
    .option('-f, --force', 'do not prompt (tsrun never prompts)')
    .action(async (_flags: unknown, cmd: Command) => {
      const { pruneBuildCache } = await import('../../build/prune.js');
      const { entries, bytes } = await pruneBuildCache(await tsrunFor(cmd));
      const { decimalSize } = await import('../format.js');
      out(`Deleted build cache objects: ${entries}\nTotal reclaimed space: ${decimalSize(bytes)}\n`);
    });
}
