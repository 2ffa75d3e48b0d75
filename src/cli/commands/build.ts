// `tsrun build [options] CONTEXT` (also `tsrun image build`): a Dockerfile →
// an image. Progress goes to stderr as BuildKit prints it; -q prints only
// the image id on stdout.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';

interface BuildFlags {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  cache?: boolean;
  pull?: boolean | string;
  platform?: string;
  label?: string[];
  iidfile?: string;
  quiet?: boolean;
  progress?: string;
  network?: string;
  secret?: string[];
}

export function addImageBuild(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('build an image from a Dockerfile')
    .argument('<context>', 'the build context: a directory, or - for a tar (or a Dockerfile) on stdin')
    .option('-t, --tag <name>', 'name the image NAME[:TAG] (repeatable)', collect)
    .option('-f, --file <path>', 'the Dockerfile (default CONTEXT/Dockerfile; - for stdin)')
    .option('--build-arg <k[=v]>', 'set a build argument (a bare K takes the value from the environment)', collect)
    .option('--target <stage>', 'build this stage (and what it needs) only')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull [policy]', 'pull FROM images: always (the same as --pull alone), missing (default) or never')
    .option('--platform <os/arch[/variant]>', 'the platform to build for')
    .option('--label <k=v>', 'set an image label (repeatable)', collect)
    .option('--iidfile <file>', 'write the image id to FILE')
    .option('-q, --quiet', 'print only the image id')
    .option('--progress <mode>', 'auto, plain or tty', 'auto')
    .option('--network <mode>', 'the network of RUN steps: default, none or host', 'default')
    .option('--secret <id=ID,src=FILE>', 'a secret for RUN --mount=type=secret (repeatable)', collect)
    .action(async (context: string, flags: BuildFlags, cmd: Command) => {
      const { buildFromCli } = await import('../build-run.js');
      await buildFromCli(await tsrunFor(cmd), context, flags);
    });
}

export type { BuildFlags };

export function registerBuild(program: Command): void {
  addImageBuild(program, 'build');
}
