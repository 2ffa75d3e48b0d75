// `tsrun images` / `tsrun image ls`: Docker's table, -q, --digests,
// --no-trunc, --format json.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

// commander turns --no-trunc into trunc: false.
interface ListFlags { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; format?: string }

export function addImageList(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('list images')
    .argument('[repository[:tag]]', 'only images with this name')
    .option('-a, --all', 'show all images (tsrun keeps no intermediate images)')
    .option('-q, --quiet', 'only image ids')
    .option('--digests', 'show digests')
    .option('--no-trunc', 'do not truncate ids')
    .option('--format <format>', "'json' for one JSON object per image")
    .action(async (filter: string | undefined, flags: ListFlags, cmd: Command) => {
      const { shortId } = await import('../../image/images.js');
      const { humanDuration, table, decimalSize, jsonLines, wantsJson } = await import('../format.js');
      const views = await (await tsrunFor(cmd)).images.list();
      const idOf = (id: string) => (flags.trunc ? shortId(id) : id);
      const rows: Array<{ repo: string; tag: string; digest: string; id: string; created: string; size: number; fullId: string }> = [];
      for (const v of views) {
        const created = v.config.created ?? v.record.added;
        const digest = v.record.repoDigests[0]?.split('@')[1] ?? '<none>';
        const names = v.repoTags.length ? v.repoTags : ['<none>:<none>'];
        for (const n of names) {
          const at = n.lastIndexOf(':');
          const repo = n.slice(0, at);
          if (filter && repo !== filter && n !== filter) continue;
          rows.push({ repo, tag: n.slice(at + 1), digest, id: idOf(v.record.id), created, size: v.size, fullId: v.record.id });
        }
      }
      if (flags.quiet) {
        out([...new Set(rows.map((r) => r.id))].map((id) => `${id}\n`).join(''));
        return;
      }
      const now = Date.now();
      if (wantsJson(flags.format)) {
        return void out(jsonLines(rows.map((r) => ({
          Containers: 'N/A', CreatedAt: r.created, CreatedSince: `${humanDuration(now - Date.parse(r.created))} ago`, Digest: r.digest,
          ID: r.id, Repository: r.repo, SharedSize: 'N/A', Size: decimalSize(r.size), Tag: r.tag, UniqueSize: 'N/A', VirtualSize: decimalSize(r.size),
        }))));
      }
      const header = ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
      const cells = rows.map((r) => [r.repo, r.tag, ...(flags.digests ? [r.digest] : []), r.id, `${humanDuration(now - Date.parse(r.created))} ago`, decimalSize(r.size)]);
      out(table(header, cells));
    });
}

export function registerImages(program: Command): void {
  addImageList(program, 'images');
}
