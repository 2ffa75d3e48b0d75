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
      const { execa } = await import('execa');
      const c = (await tsrunFor(cmd)).containers;
      const id = await c.resolve(ref);
      const v = await c.view(id);
      if (v.status !== 'running' && v.status !== 'paused') throw new TsrunError('INVALID_STATE', `container ${ref} is not running`);
      const pids = new Set(await c.engine.pids(id));
      const { stdout } = await execa('ps', psArgs.length ? psArgs : ['-ef']);
      const [header, ...lines] = stdout.split('\n');
      const pidCol = header.trim().split(/\s+/).indexOf('PID');
      if (pidCol < 0) throw new TsrunError('INVALID_ARGUMENT', `ps ${psArgs.join(' ')} does not print a PID column`);
      const mine = lines.filter((l) => pids.has(Number(l.trim().split(/\s+/)[pidCol])));
      out(`${[header, ...mine].join('\n')}\n`);
    });
}
