// `tsrun tag SOURCE TARGET` / `tsrun image tag`: another name for an image.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';

export function addImageTag(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('give an image another name')
    .argument('<source>', 'IMAGE[:TAG] or id')
    .argument('<target>', 'NAME[:TAG]')
    .action(async (source: string, target: string, _flags: unknown, cmd: Command) => {
      await (await tsrunFor(cmd)).images.tag(source, target);
    });
}

export function registerTag(program: Command): void {
  addImageTag(program, 'tag');
}
