// `tsrun create [options] IMAGE [CMD [ARG...]]` (or --rootfs DIR CMD...): the container, not yet started.
import type { Command } from 'commander';
import type { ContainerFlags } from '../../flags/container-flags.js';
import { tsrunFor } from '../context.js';
import { addContainerOptions, toCreateRequest } from '../run-options.js';
import { addRunConfigOptions, createCidfile } from '../run-flags.js';
import { out } from '../write.js';

export function registerCreate(program: Command): void {
  addContainerOptions(addRunConfigOptions(
    program.command('create').description('create a container without starting it').argument('[image-and-command...]', 'IMAGE [COMMAND [ARG...]] (with --rootfs: COMMAND [ARG...])'),
  )).action(async (command: string[], flags: ContainerFlags, cmd: Command) => {
    const tsrun = await tsrunFor(cmd);
    const req = await toCreateRequest(flags, command);
    // Docker makes the file before the container, and removes it if that fails.
    const cidfile = flags.cidfile === undefined ? undefined : await createCidfile(flags.cidfile);
    let state;
    try {
      state = await tsrun.containers.create(req);
    } catch (err) {
      cidfile?.remove();
      throw err;
    }
    cidfile?.write(state.id);
    out(`${state.id}\n`);
  });
}
