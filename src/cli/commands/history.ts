// `tsrun history IMAGE` / `tsrun image history`: the config's history, newest
// first, each entry that made a layer paired with that layer's size.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function addImageHistory(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('show the history of an image')
    .argument('<image>')
    .option('-q, --quiet', 'only image ids')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', "'json' for one JSON object per entry")
    .action(async (reference: string, flags: { quiet?: boolean; trunc: boolean; format?: string }, cmd: Command) => {
      const { imageHistory } = await import('../../image/history.js');
      const { table, decimalSize } = await import('../format.js');
      const { humanDuration } = await import('../../util/human-duration.js');
      const { shortId } = await import('../../image/images.js');
      const images = (await tsrunFor(cmd)).images;
      const view = await images.get(reference);
      const entries = await imageHistory(view, (d) => images.layers.size(d));
      const id = (e: { id?: string }) => (e.id ? (flags.trunc ? shortId(e.id) : e.id) : '<missing>');
      if (flags.quiet) return void out(entries.map((e) => `${id(e)}\n`).join(''));
      const now = Date.now();
      const since = (t?: string) => (t ? `${humanDuration(now - Date.parse(t))} ago` : 'N/A');
      const by = (s: string) => (flags.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
      if (flags.format === 'json') {
        for (const e of entries) {
          out(`${JSON.stringify({ Comment: e.comment, CreatedAt: e.created, CreatedBy: e.createdBy, CreatedSince: since(e.created), ID: id(e), Size: decimalSize(e.size) })}\n`);
        }
        return;
      }
      const rows = entries.map((e) => [id(e), since(e.created), by(e.createdBy), decimalSize(e.size), e.comment]);
      out(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
    });
}

export function registerHistory(program: Command): void {
  addImageHistory(program, 'history');
}
