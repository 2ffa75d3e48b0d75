// `tsrun inspect CONTAINER...`: Docker-shaped JSON array.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { reportError } from '../errors.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show low-level information on containers as JSON')
    .argument('<container...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const { inspectDocument } = await import('../../runtime/inspect.js');
      const c = (await tsrunFor(cmd)).containers;
      const docs: unknown[] = [];
      for (const ref of refs) {
        try {
          const id = await c.resolve(ref);
          docs.push(inspectDocument(await c.view(id), c.logPath(id)));
        } catch (err) {
          reportError(err, 1);
          process.exitCode = 1;
        }
      }
      process.stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
    });
}
