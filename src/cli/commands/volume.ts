// `tsrun volume create|ls|inspect|rm|prune`: Docker's verbs over core's volume store.
import type { Command } from 'commander';
import { forEachRef, tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';

/** Each field's column name (docker/cli's VolumeContext headers). */
const VOLUME_HEADER = {
  Availability: 'AVAILABILITY', Driver: 'DRIVER', Group: 'GROUP', Labels: 'LABELS', Label: (_key: string) => 'LABEL', Links: 'LINKS',
  Mountpoint: 'MOUNTPOINT', Name: 'VOLUME NAME', Scope: 'SCOPE', Size: 'SIZE', Status: 'STATUS',
};

export function registerVolume(program: Command): void {
  const volume = program.command('volume').description('manage volumes');

  volume
    .command('create')
    .description('create a volume (a random name when none is given)')
    .argument('[name]')
    .option('--label <key=value>', 'set a label (repeatable)', collect)
    .option('-d, --driver <driver>', 'volume driver (only local)', 'local')
    .action(async (name: string | undefined, flags: { label?: string[]; driver: string }, cmd: Command) => {
      const { TsrunError } = await import('../../errors.js');
      if (flags.driver !== 'local') throw new TsrunError('INVALID_ARGUMENT', `volume driver ${JSON.stringify(flags.driver)} is not supported: only local`);
      const labels = Object.fromEntries((flags.label ?? []).map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
      const { info } = await (await tsrunFor(cmd)).volumes.create(name, { labels });
      out(`${info.Name}\n`);
    });

  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only volume names')
    .option('--format <format>', "'table' (default), 'table TEMPLATE', 'json', or a Go template")
    .action(async (flags: { quiet?: boolean; format?: string }, cmd: Command) => {
      const { labelsText, listFormat, table, withLabelMethod } = await import('../format.js');
      const render = flags.quiet ? undefined : await listFormat(flags.format, VOLUME_HEADER);
      const vols = await (await tsrunFor(cmd)).volumes.list();
      if (!render) return void out(vols.map((v) => `${v.Name}\n`).join(''));
      out(render(
        () => vols.map((v) => withLabelMethod({
          Availability: 'N/A', Driver: v.Driver, Group: 'N/A', Labels: labelsText(v.Labels),
          Links: 'N/A', Mountpoint: v.Mountpoint, Name: v.Name, Scope: v.Scope, Size: 'N/A', Status: 'N/A',
        }, v.Labels)),
        () => table(['DRIVER', 'VOLUME NAME'], vols.map((v) => [v.Driver, v.Name])),
      ));
    });

  volume
    .command('inspect')
    .description('show volumes as JSON')
    .argument('<name...>')
    .option('-f, --format <template>', "a Go template run over each volume (e.g. '{{.Mountpoint}}')")
    .action(async (names: string[], flags: { format?: string }, cmd: Command) => {
      const { inspectFormat } = await import('../format.js');
      const format = await inspectFormat(flags.format, [['Labels', ''], ['Options', '']]);
      const volumes = (await tsrunFor(cmd)).volumes;
      const docs: unknown[] = [];
      await forEachRef(names, async (n) => {
        const doc = await volumes.inspect(n);
        return format ? format(doc).slice(0, -1) : void docs.push(doc);
      });
      if (!format) out(`${JSON.stringify(docs, null, 4)}\n`);
    });

  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes (refused while a container uses one)')
    .argument('<name...>')
    .option('-f, --force', 'no error for a volume that does not exist')
    .action(async (names: string[], flags: { force?: boolean }, cmd: Command) => {
      const volumes = (await tsrunFor(cmd)).volumes;
      await forEachRef(names, async (n) => ((await volumes.remove(n, !!flags.force)) ? n : undefined));
    });

  volume
    .command('prune')
    .description('remove unused anonymous volumes (with -a: every unused volume)')
    .option('-a, --all', 'remove unused named volumes too')
    .option('-f, --force', 'do not prompt for confirmation (tsrun never prompts)')
    .action(async (flags: { all?: boolean }, cmd: Command) => {
      const removed = await (await tsrunFor(cmd)).volumes.prune(!!flags.all);
      out(`${removed.length ? `Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}\n` : ''}Total reclaimed space: 0B\n`);
    });
}
