// `tsrun image VERB`: Docker's image management group. The verbs that also
// exist at top level (images, rmi, tag, history, pull) share their code.
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { addImageBuild } from './build.js';
import { addImageHistory } from './history.js';
import { addImageImport } from './import.js';
import { addImageList } from './images.js';
import { addImageLoad } from './load.js';
import { registerPull } from './pull.js';
import { addImagePush } from './push.js';
import { addImageRemove } from './rmi.js';
import { addImageSave } from './save.js';
import { addImageTag } from './tag.js';
import { out } from '../write.js';

export function registerImage(program: Command): void {
  const image = program.command('image').description('manage images');
  addImageList(image, 'ls');
  addImageRemove(image, 'rm');
  addImageTag(image, 'tag');
  addImageHistory(image, 'history');
  registerPull(image);
  addImagePush(image, 'push');
  addImageSave(image, 'save');
  addImageLoad(image, 'load');
  addImageImport(image, 'import');
  addImageBuild(image, 'build');
  image
    .command('inspect')
    .description('show low-level information on images as JSON')
    .argument('<image...>')
    .option('-f, --format <template>', "a Go template run over each document (e.g. '{{.Config.Cmd}}'); 'json' is the default array")
    .action(async (refs: string[], flags: { format?: string }, cmd: Command) => {
      const { inspectFormat } = await import('../format.js');
      const { INSPECT_MAPS } = await import('./inspect.js');
      // A bad template is refused before anything is looked up, as `inspect -f` does.
      const format = await inspectFormat(flags.format, INSPECT_MAPS);
      const { imageInspectDocument } = await import('../../image/inspect.js');
      const images = (await tsrunFor(cmd)).images;
      const docs: unknown[] = [];
      await forEachRef(refs, async (ref) => void docs.push(imageInspectDocument(await images.get(ref))));
      out(format ? docs.map(format).join('') : `${JSON.stringify(docs, null, 4)}\n`);
    });
  image
    .command('prune')
    .description('remove images no name points at (with -a: every image no container uses)')
    .option('-a, --all', 'remove all images not used by a container')
    .option('-f, --force', 'do not prompt (tsrun never prompts)')
    .option('--filter <filter>', 'until=DURATION|TIME, label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .action(async (flags: { all?: boolean; filter?: string[] }, cmd: Command) => {
      const { parsePruneFilters } = await import('../../util/prune-filters.js');
      const filters = parsePruneFilters(flags.filter);
      const { deleted, reclaimed } = await (await tsrunFor(cmd)).images.prune(!!flags.all, filters);
      const { pruneSection, reclaimedLine } = await import('../prune-report.js');
      out(pruneSection('Deleted Images', deleted.map((d) => `deleted: ${d}`)) + reclaimedLine(reclaimed));
    });
}
