// `tsrun commit [-c CHANGE]... [-m MSG] [-a AUTHOR] [-p|--pause=false] CONTAINER [REPOSITORY[:TAG]]`:
// a new image from a container's changes; prints its id (sha256:...).
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

export function registerCommit(program: Command): void {
  program
    .command('commit')
    .description("create a new image from a container's changes")
    .argument('[container]')
    .argument('[reference]', 'REPOSITORY[:TAG] to name the image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)', collect)
    .option('-m, --message <message>', 'the commit message')
    .option('-a, --author <author>', 'the author (e.g. "Jane <jane@example.com>")')
    .option('-p, --pause [bool]', 'pause the container while committing (default true; --pause=false to not)')
    .action(async (container: string | undefined, reference: string | undefined, flags: { change?: string[]; message?: string; author?: string; pause?: boolean | string }, cmd: Command) => {
      const { TsrunError } = await import('../../errors.js');
      // Docker's -p is a bool flag (-p, --pause=false). Commander gives an
      // optional value the next word, so a bare `-p CONTAINER` arrives as pause=CONTAINER.
      let args = [container, reference].filter((a): a is string => a !== undefined);
      let pause = true;
      if (typeof flags.pause === 'string') {
        if (/^(?:true|false|1|0)$/i.test(flags.pause)) pause = /^(?:true|1)$/i.test(flags.pause);
        else args = [flags.pause, ...args];
      }
      if (args.length < 1 || args.length > 2) throw new TsrunError('INVALID_ARGUMENT', '"commit" requires at least 1 and at most 2 arguments: CONTAINER [REPOSITORY[:TAG]]');
      const { commitContainer } = await import('../../image/commit.js');
      const { id } = await commitContainer(await tsrunFor(cmd), args[0], {
        reference: args[1], changes: flags.change, message: flags.message, author: flags.author, pause,
      });
      out(`${id}\n`);
    });
}
