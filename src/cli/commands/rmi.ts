// `tsrun rmi [-f] IMAGE...` / `tsrun image rm`: Docker's Untagged/Deleted lines.
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';

export function addImageRemove(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('remove images (refuses one a container uses)')
    .argument('<image...>')
    .option('-f, --force', 'remove an image that has several names, by id')
    .action(async (refs: string[], flags: { force?: boolean }, cmd: Command) => {
      const images = (await tsrunFor(cmd)).images;
      await forEachRef(refs, async (ref) => (await images.remove(ref, !!flags.force)).join('\n'));
    });
}

export function registerRmi(program: Command): void {
  addImageRemove(program, 'rmi');
}
