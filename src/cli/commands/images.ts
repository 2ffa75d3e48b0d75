// `tsrun images` / `tsrun image ls`: Docker's table, -q, --digests,
// --no-trunc, -f KEY=VALUE (core's image/image-filters.ts), --format
// table|json|TEMPLATE.
import type { Command } from 'commander';
import type { ImageFilter } from '../../image/image-filters.js';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

// commander turns --no-trunc into trunc: false.
interface ListFlags { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; filter: string[]; format?: string }

/** Each field's column name (docker/cli's ImageContext headers). */
const HEADER = {
  Containers: 'CONTAINERS', CreatedAt: 'CREATED AT', CreatedSince: 'CREATED', Digest: 'DIGEST', ID: 'IMAGE ID', Repository: 'REPOSITORY',
  SharedSize: 'SHARED SIZE', Size: 'SIZE', Tag: 'TAG', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE',
};

export function addImageList(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('list images')
    .argument('[repository[:tag]]', 'only images with this name (a glob, as --filter reference=)')
    .option('-a, --all', 'show all images (tsrun keeps no intermediate images)')
    .option('-q, --quiet', 'only image ids')
    .option('--digests', 'show digests')
    .option('--no-trunc', 'do not truncate ids')
    .option('-f, --filter <key=value>', 'filter output: dangling=true|false, label=KEY[=VALUE], reference=GLOB, before=IMAGE, since=IMAGE (repeatable)', collect, [])
    .option('--format <format>', "'table' (default), 'table TEMPLATE', 'json', or a Go template")
    .action(async (reference: string | undefined, flags: ListFlags, cmd: Command) => {
      const [{ shortId }, { table, decimalSize, listFormat }, { humanDuration }] = await Promise.all([
        import('../../image/images.js'), import('../format.js'), import('../../util/human-duration.js'),
      ]);
      // The argument is a reference filter, as in Docker.
      const filterFlags = [...flags.filter, ...(reference ? [`reference=${reference}`] : [])];
      const filters = filterFlags.length ? await imageFilters(filterFlags) : undefined;
      const render = flags.quiet ? undefined : await listFormat(flags.format, HEADER);
      const images = (await tsrunFor(cmd)).images;
      const filter: ImageFilter = filters ? await filters((ref) => images.get(ref)) : { keep: () => true, tags: (v) => v.repoTags };
      const views = (await images.list()).filter(filter.keep);
      const idOf = (id: string) => (flags.trunc ? shortId(id) : id);
      const rows: Array<{ repo: string; tag: string; digest: string; id: string; created: string; size: number }> = [];
      for (const v of views) {
        const created = v.config.created ?? v.record.added;
        const digest = v.record.repoDigests[0]?.split('@')[1] ?? '<none>';
        const names = filter.tags(v);
        for (const n of names.length ? names : ['<none>:<none>']) {
          const at = n.lastIndexOf(':');
          rows.push({ repo: n.slice(0, at), tag: n.slice(at + 1), digest, id: idOf(v.record.id), created, size: v.size });
        }
      }
      if (!render) {
        out([...new Set(rows.map((r) => r.id))].map((id) => `${id}\n`).join(''));
        return;
      }
      const now = Date.now();
      const since = (r: { created: string }) => `${humanDuration(now - Date.parse(r.created))} ago`;
      out(render(
        () => rows.map((r) => ({
          Containers: 'N/A', CreatedAt: r.created, CreatedSince: since(r), Digest: r.digest, ID: r.id, Repository: r.repo,
          SharedSize: 'N/A', Size: decimalSize(r.size), Tag: r.tag, UniqueSize: 'N/A', VirtualSize: decimalSize(r.size),
        })),
        () => table(
          ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'],
          rows.map((r) => [r.repo, r.tag, ...(flags.digests ? [r.digest] : []), r.id, since(r), decimalSize(r.size)]),
        ),
      ));
    });
}

/** The --filter flags, checked now (before anything is read); the filter itself once images can be looked up. */
async function imageFilters(flags: string[]) {
  const [{ parseFilterFlags }, { checkImageFilters, imageFilter }] = await Promise.all([import('../../util/filters.js'), import('../../image/image-filters.js')]);
  const args = parseFilterFlags(flags);
  checkImageFilters(args);
  return (image: Parameters<typeof imageFilter>[1]) => imageFilter(args, image);
}

export function registerImages(program: Command): void {
  addImageList(program, 'images');
}
