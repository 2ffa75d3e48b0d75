// `tsrun inspect [-f TEMPLATE] NAME...`: Docker-shaped JSON array; a name
// that is no container is looked up as an image, as `docker inspect` does.
// With -f, the Go template runs over each of those documents instead.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { reportError } from '../errors.js';
import { out } from '../write.js';

/** The map-valued fields of container and image documents (strings maps index to ""). */
export const INSPECT_MAPS: ReadonlyArray<string | [string, unknown]> = [
  ['Config.Labels', ''], ['HostConfig.Annotations', ''], ['HostConfig.Tmpfs', ''], ['HostConfig.Sysctls', ''], 'HostConfig.PortBindings',
  'NetworkSettings.Ports', 'NetworkSettings.Networks', 'Config.ExposedPorts', 'Config.Volumes',
];

/**
 * Fields Docker's types always have but its JSON omits when empty, so that
 * a template sees them as Go does on the typed document (`{{range
 * .Mounts}}{{.Name}}{{end}}` over a bind mount prints an empty name).
 */
function typedDefaults(doc: Record<string, unknown>): Record<string, unknown> {
  for (const m of (Array.isArray(doc.Mounts) ? doc.Mounts : []) as Array<Record<string, unknown>>) {
    m.Name ??= '';
    m.Driver ??= '';
  }
  const config = doc.Config as Record<string, unknown> | undefined;
  if (config && typeof config === 'object') config.StopSignal ??= '';
  return doc;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show low-level information on containers or images as JSON')
    .argument('<container-or-image...>')
    .option('-f, --format <template>', "a Go template run over each document (e.g. '{{.State.Status}}'); 'json' is the default array")
    .action(async (refs: string[], flags: { format?: string }, cmd: Command) => {
      const { inspectFormat } = await import('../format.js');
      // A bad template is refused before anything is looked up.
      const format = await inspectFormat(flags.format, INSPECT_MAPS);
      const { inspectDocument } = await import('../../runtime/inspect.js');
      const { TsrunError } = await import('../../errors.js');
      const tsrun = await tsrunFor(cmd);
      const c = tsrun.containers;
      const docs: unknown[] = [];
      let text = '';
      for (const ref of refs) {
        try {
          let notContainer: unknown;
          const id = await c.resolve(ref).catch((err) => {
            if (!(err instanceof TsrunError && err.code === 'CONTAINER_NOT_FOUND')) throw err;
            notContainer = err;
            return null;
          });
          let doc: unknown;
          if (id) {
            doc = inspectDocument(await c.view(id), c.logPath(id));
          } else {
            // Neither: the container error names what most users meant.
            const { imageInspectDocument } = await import('../../image/inspect.js');
            doc = imageInspectDocument(await tsrun.images.get(ref).catch((err) => {
              throw err instanceof TsrunError && err.code === 'IMAGE_NOT_FOUND' ? notContainer : err;
            }));
          }
          if (format) text += format(typedDefaults(doc as Record<string, unknown>));
          else docs.push(doc);
        } catch (err) {
          reportError(err, 1);
          process.exitCode = 1;
        }
      }
      out(format ? text : `${JSON.stringify(docs, null, 4)}\n`);
    });
}
