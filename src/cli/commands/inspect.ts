// `tsrun inspect NAME...`: Docker-shaped JSON array; a name that is no
// container is looked up as an image, as `docker inspect` does.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { reportError } from '../errors.js';
import { out } from '../write.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show low-level information on containers or images as JSON')
    .argument('<container-or-image...>')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const { inspectDocument } = await import('../../runtime/inspect.js');
      const { TsrunError } = await import('../../errors.js');
      const tsrun = await tsrunFor(cmd);
      const c = tsrun.containers;
      const docs: unknown[] = [];
      for (const ref of refs) {
        try {
          let notContainer: unknown;
          const id = await c.resolve(ref).catch((err) => {
            if (!(err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND')) throw err;
            notContainer = err;
            return null;
          });
          if (id) {
            docs.push(inspectDocument(await c.view(id), c.logPath(id)));
            continue;
          }
          // Neither: the container error names what most users meant.
          const { imageInspectDocument } = await import('../../image/inspect.js');
          docs.push(imageInspectDocument(await tsrun.images.get(ref).catch((err) => {
            throw err instanceof TsrunError && err.code === 'IMAGE_NOT_FOUND' ? notContainer : err;
          })));
        } catch (err) {
          reportError(err, 1);
          process.exitCode = 1;
        }
      }
      out(`${JSON.stringify(docs, null, 4)}\n`);
    });
}
