// `tsrun push [-a] [-q] NAME[:TAG]` (also `tsrun image push`): Docker's
// progress on stdout, or with -q only the name of what was pushed.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function addImagePush(parent: Command, name = 'push'): void {
  parent
    .command(name)
    .description('upload an image to a registry')
    .argument('<name>', 'NAME[:TAG]')
    .option('-a, --all-tags', 'push every local tag of the repository')
    .option('-q, --quiet', 'print only the name of what was pushed')
    .action(async (reference: string, flags: { allTags?: boolean; quiet?: boolean }, cmd: Command) => {
      const { pushReporter } = await import('../push-progress.js');
      const tsrun = await tsrunFor(cmd);
      const onEvent = flags.quiet ? undefined : pushReporter(process.stdout);
      const results = await tsrun.images.push(reference, { allTags: !!flags.allTags, onEvent });
      if (flags.quiet) for (const r of results) out(`${r.reference}\n`);
    });
}

export function registerPush(program: Command): void {
  addImagePush(program, 'push');
}
