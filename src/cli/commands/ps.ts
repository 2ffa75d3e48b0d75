// `tsrun ps [-a] [-q] [--no-trunc] [-f KEY=VALUE]... [--format table|json|TEMPLATE]`
// The list comes from runtime/container-list.ts, the function the core's
// Containers.summaries is, called here without building the core (the
// engine, images, volumes: ~7 ms of a verb). The filters are core's
// (runtime/container-filters.ts); without filters or a template, nothing
// more than the table's own code loads.
import type { Command } from 'commander';
import { native } from '../../native/binding.js';
import { containerSummaries, listPlaces } from '../../runtime/container-list.js';
import type { ContainerSummary } from '../../runtime/containers.js';
import { statusText } from '../../runtime/status-text.js';
import { humanDuration } from '../../util/human-duration.js';
import type { Tsrun } from '../../tsrun.js';
import { tsrunFor } from '../context.js';
import { commandText, labelsText, listFormat, table, withLabelMethod } from '../format.js';
import { collect, globalOptions } from '../options.js';
import { out } from '../write.js';

/** Each field's column name (docker/cli's ContainerContext headers). */
const HEADER = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
  Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Label: (_key: string) => 'LABEL', Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS',
};

/** Docker's PORTS column: `0.0.0.0:8080->80/tcp`, while the container runs. */
function portsText(v: ContainerSummary): string {
  if (v.status !== 'running' && v.status !== 'paused') return '';
  return (v.record.networkSettings?.ports ?? []).map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

// Docker's CREATED column: the time since the container was made.
const runningFor = (v: ContainerSummary, now: number) => `${humanDuration(now - Date.parse(v.record.created))} ago`;

/** One container as `--format json` and templates see it (docker/cli's ContainerContext, keys in its JSON order). */
function row(v: ContainerSummary, id: string, trunc: boolean, now: number): object {
  const r = v.record.request;
  const mounts = (r?.mounts ?? []).filter((m) => m.Type !== 'tmpfs');
  const net = r?.network;
  return withLabelMethod({
    Command: commandText(v.command, trunc),
    CreatedAt: new Date(v.record.created).toISOString(),
    ID: id,
    Image: v.image,
    Labels: labelsText(r?.labels),
    LocalVolumes: String(mounts.filter((m) => m.Type === 'volume').length),
    Mounts: mounts.map((m) => m.Name ?? m.Source).map((n) => (trunc && n.length > 15 ? `${n.slice(0, 12)}...` : n)).join(','),
    Names: v.record.name,
    Networks: net?.networks ? Object.keys(net.networks).sort().join(',') : net?.mode === 'host' || net?.mode === 'none' ? net.mode : '',
    Ports: portsText(v),
    RunningFor: runningFor(v, now),
    Size: '0B',
    State: v.status,
    Status: statusText(v, now),
  }, r?.labels);
}

/** The --filter flags as one predicate (undefined: none given), and whether they show stopped containers too. */
async function filtersFor(flags: string[]) {
  if (!flags.length) return undefined;
  const [{ parseFilterFlags }, { checkContainerFilters, containerFilter, containerFilterLookup, filtersListAll }] = await Promise.all([
    import('../../util/filters.js'), import('../../runtime/container-filters.js'),
  ]);
  const args = parseFilterFlags(flags);
  checkContainerFilters(args);
  return {
    all: filtersListAll(args),
    predicate: async (tsrun: Tsrun) => containerFilter(args, containerFilterLookup(tsrun)),
  };
}

export function registerPs(program: Command): void {
  program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('-q, --quiet', 'only display container ids')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', 'filter output: id, name, label, status, exited, ancestor, before, since, volume, network, health (repeatable)', collect, [])
    .option('--format <format>', "'table' (default), 'table TEMPLATE', 'json', or a Go template")
    .action(async (flags: { all?: boolean; quiet?: boolean; trunc: boolean; filter: string[]; format?: string }, cmd: Command) => {
      // Bad filters and templates are refused before anything is read.
      const filters = await filtersFor(flags.filter);
      const render = flags.quiet ? undefined : await listFormat(flags.format, HEADER);
      const keep = filters && (await filters.predicate(await tsrunFor(cmd)));
      const { root, runroot } = globalOptions(cmd);
      const listed = await containerSummaries(listPlaces(root, runroot, native), !!flags.all || !!filters?.all);
      const views = keep ? listed.filter(keep) : listed;
      const id = (v: ContainerSummary) => (flags.trunc ? v.record.id.slice(0, 12) : v.record.id);
      if (!render) {
        out(views.map((v) => `${id(v)}\n`).join(''));
        return;
      }
      const now = Date.now();
      out(render(
        () => views.map((v) => row(v, id(v), flags.trunc, now)),
        () => table(
          ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
          views.map((v) => [id(v), v.image, commandText(v.command, flags.trunc), runningFor(v, now), statusText(v, now), portsText(v), v.record.name]),
        ),
      ));
    });
}
