// `tsrun create [options] IMAGE [CMD [ARG...]]` (or --rootfs DIR CMD...): the container, not yet started.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { addContainerOptions, toCreateRequest, type ContainerFlags } from '../run-options.js';
import { out } from '../write.js';

export function registerCreate(program: Command): void {
  addContainerOptions(
    program.command('create').description('create a container without starting it').argument('[image-and-command...]', 'IMAGE [COMMAND [ARG...]] (with --rootfs: COMMAND [ARG...])'),
  ).action(async (command: string[], flags: ContainerFlags, cmd: Command) => {
    const tsrun = await tsrunFor(cmd);
    const state = await tsrun.containers.create(await toCreateRequest(flags, command));
    out(`${state.id}\n`);
  });
}
