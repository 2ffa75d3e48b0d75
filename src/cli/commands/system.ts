// `tsrun system info|df|prune|reset`: Docker's system verbs (reset is
// Podman's) over core's src/system/.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { tsrunFor } from '../context.js';
import { collect } from '../options.js';
import { out } from '../write.js';
import { addInfo } from './info.js';
import { addEvents } from './events.js';
import { addService } from './service.js';

// The column names of `system df`'s fields (a `table` template's header row).
const DF_HEADER = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

interface PruneFlags { all?: boolean; volumes?: boolean; force?: boolean; filter?: string[] }

export function registerSystem(program: Command): void {
  const system = program.command('system').description('manage tsrun');
  addInfo(system, 'info');
  addEvents(system, 'events');
  addService(system);

  system
    .command('df')
    .description('show disk usage: images, containers, local volumes, build cache')
    .option('-v, --verbose', 'a table per kind')
    .option('--format <format>', "'json' for one JSON object per kind (with -v: the whole report), or a Go template over Type, TotalCount, Active, Size, Reclaimable ('table ...' adds the header)")
    .action(async (flags: { verbose?: boolean; format?: string }, cmd: Command) => {
      const f = flags.format === 'table' ? undefined : flags.format;
      const json = f === 'json' || f === '{{json .}}';
      if (f && !json && flags.verbose) throw new TsrunError('INVALID_ARGUMENT', 'a --format template takes no -v: use --format json');
      // A template is compiled before any work, so a bad one fails first.
      const template = f && !json ? (await import('../../template/index.js')).listFormatter(f, DF_HEADER) : undefined;
      const { systemDf } = await import('../../system/df.js');
      const du = await systemDf(await tsrunFor(cmd));
      const text = await import('../df-text.js');
      if (template) return void out(template.render(text.dfSummaryRows(du)));
      if (json) return void out(flags.verbose ? `${JSON.stringify(du)}\n` : text.dfSummaryJson(du));
      out(flags.verbose ? text.dfVerboseText(du) : text.dfSummaryText(du));
    });

  system
    .command('prune')
    .description('remove stopped containers, unused networks, dangling images and the build cache')
    .option('-a, --all', 'remove every image no container uses, not only dangling ones')
    .option('--volumes', 'remove unused anonymous volumes too')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--filter <filter>', 'until=DURATION|TIME, label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .action(async (flags: PruneFlags, cmd: Command) => {
      const { parsePruneFilters } = await import('../../util/prune-filters.js');
      const { buildCacheKept, checkSystemPrune, systemPrune } = await import('../../system/prune.js');
      const opts = { all: !!flags.all, volumes: !!flags.volumes, filters: parsePruneFilters(flags.filter) };
      checkSystemPrune(opts); // bad input fails before the prompt
      if (!flags.force) {
        const warnings = [
          'all stopped containers', 'all networks not used by at least one container',
          ...(opts.volumes ? ['all anonymous volumes not used by at least one container'] : []),
          opts.all ? 'all images without at least one container associated to them' : 'all dangling images',
          ...(buildCacheKept(opts.filters) ? [] : [opts.all ? 'all build cache' : 'unused build cache']),
        ];
        const given = [...opts.filters.given].sort();
        const filtered = given.length ? `\n  Items to be pruned will be filtered with:\n${given.map((f) => `  - ${f}\n`).join('')}` : '';
        await confirmed('system prune', `WARNING! This will remove:\n${warnings.map((w) => `  - ${w}\n`).join('')}${filtered}\nAre you sure you want to continue?`);
      }
      const r = await systemPrune(await tsrunFor(cmd), opts);
      const { pruneSection, reclaimedLine } = await import('../prune-report.js');
      out(pruneSection('Deleted Containers', r.containers) + pruneSection('Deleted Networks', r.networks) + pruneSection('Deleted Volumes', r.volumes)
        + pruneSection('Deleted Images', r.images.map((id) => `deleted: ${id}`))
        + (r.buildCache.entries ? `Deleted build cache objects: ${r.buildCache.entries}\n\n` : '') + reclaimedLine(r.reclaimed));
    });

  system
    .command('reset')
    .description('remove every container, image, volume, network and the build cache of this --root, then the --root and --runroot directories')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (flags: { force?: boolean }, cmd: Command) => {
      const tsrun = await tsrunFor(cmd);
      const { checkResettable, systemReset } = await import('../../system/reset.js');
      checkResettable(tsrun);
      if (!flags.force) {
        const what = ['all containers', 'all images', 'all networks', 'all build cache', 'all volumes', `the root directory: ${JSON.stringify(tsrun.root)}`, `the runroot directory: ${JSON.stringify(tsrun.runroot)}`];
        await confirmed('system reset', `WARNING! This will remove:\n${what.map((w) => `        - ${w}\n`).join('')}Are you sure you want to continue?`);
      }
      const r = await systemReset(tsrun);
      const { pruneSection } = await import('../prune-report.js');
      out(pruneSection('Deleted Containers', r.containers) + pruneSection('Deleted Networks', r.networks) + pruneSection('Deleted Volumes', r.volumes)
        + pruneSection('Deleted Images', r.images.map((id) => `deleted: ${id}`)) + pruneSection('Removed', r.removed));
    });

  // After a host reboot, run once by a systemd unit (README: tsrun-boot.service).
  system
    .command('boot')
    .description('start the containers whose restart policy says so after a host reboot (always; unless-stopped not stopped by a user)')
    .action(async (_flags: unknown, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      const { started, failed } = await c.boot();
      const names = await Promise.all(started.map(async (id) => (await c.store.read(id).catch(() => null))?.name ?? id));
      out(names.map((n) => `${n}\n`).join(''));
      if (!failed.length) return;
      const { messageFor } = await import('../errors.js');
      const { writeFd } = await import('../write.js');
      for (const f of failed) writeFd(2, `tsrun: cannot start container ${f.name}: ${messageFor(f.error).split('\n')[0]}\n`);
      process.exitCode = 1;
    });
}

/** Asks; a "no" (or no terminal to ask on) cancels the verb with exit 1. */
async function confirmed(verb: string, message: string): Promise<void> {
  const { confirm } = await import('../confirm.js');
  const { isatty } = await import('node:tty');
  if (await confirm(message)) return;
  throw new TsrunError('INVALID_ARGUMENT', `${verb} has been cancelled${isatty(0) ? '' : ': no terminal to confirm on (use -f)'}`);
}
