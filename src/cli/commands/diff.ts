// `tsrun diff CONTAINER`: what the container changed in its filesystem, one
// `A|C|D /path` line each (added, changed, deleted), in Docker's order.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description("inspect changes to files or directories on a container's filesystem")
    .argument('<container>')
    .action(async (ref: string, _flags: object, cmd: Command) => {
      const { containerChanges } = await import('../../image/commit.js');
      const changes = await containerChanges(await tsrunFor(cmd), ref);
      out(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
    });
}
