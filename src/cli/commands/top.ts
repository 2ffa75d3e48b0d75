// `tsrun top CONTAINER [ps options]`: the host's ps, limited to the
// container's processes (as `docker top` does).
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('display the running processes of a container')
    .argument('<container>')
    .argument('[ps-options...]', 'options for ps (default -ef)')
    .passThroughOptions()
    .action(async (ref: string, psArgs: string[], _flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      const id = await c.resolve(ref);
      const v = await c.view(id);
      if (v.status !== 'running' && v.status !== 'paused') throw new TsrunError('INVALID_STATE', `container ${ref} is not running`);
      const { hostPs } = await import('../../runtime/host-ps.js');
      const ps = await hostPs(psArgs, await c.engine.pids(id));
      if (!ps) throw new TsrunError('INVALID_ARGUMENT', `ps ${psArgs.join(' ')} does not print a PID column`);
      out(`${[ps.header, ...ps.lines].join('\n')}\n`);
    });
}
