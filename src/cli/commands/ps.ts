// `tsrun ps [-a] [-q] [--no-trunc] [--filter status=|name=] [--format json]`
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import type { ContainerSummary } from '../../runtime/containers.js';
import { tsrunFor } from '../context.js';
import { commandText, statusText, table } from '../format.js';
import { collect } from '../options.js';
import { out } from '../write.js';

type Filter = (v: ContainerSummary) => boolean;
const STATUSES = ['created', 'running', 'paused', 'exited', 'restarting', 'removing', 'dead'];

/** Docker's rule: values of one key are ORed, different keys ANDed. */
export function parseFilters(values: string[]): Filter[] {
  const byKey = new Map<string, Filter[]>();
  for (const f of values) {
    const key = f.slice(0, Math.max(0, f.indexOf('=')));
    byKey.set(key, [...(byKey.get(key) ?? []), parseOne(f)]);
  }
  return [...byKey.values()].map((tests) => (v) => tests.some((t) => t(v)));
}

function parseOne(f: string): Filter {
  const eq = f.indexOf('=');
  const key = f.slice(0, eq);
  const value = f.slice(eq + 1);
  if (eq < 0) throw new TsrunError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${f}`);
  if (key === 'status') {
    if (!STATUSES.includes(value)) throw new TsrunError('INVALID_ARGUMENT', `invalid filter 'status=${value}'`);
    return (v) => v.status === value;
  }
  if (key === 'name') {
    let re: RegExp;
    try {
      re = new RegExp(value);
    } catch {
      throw new TsrunError('INVALID_ARGUMENT', `invalid filter 'name=${value}': not a valid regular expression`);
    }
    return (v) => re.test(v.record.name);
  }
  if (key === 'id') return (v) => v.record.id.startsWith(value);
  throw new TsrunError('INVALID_ARGUMENT', `invalid filter '${key}'`);
}

/** Docker's PORTS column: `0.0.0.0:8080->80/tcp`, while the container runs. */
function portsText(v: ContainerSummary): string {
  if (v.status !== 'running' && v.status !== 'paused') return '';
  return (v.record.networkSettings?.ports ?? []).map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

export function registerPs(program: Command): void {
  program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('-q, --quiet', 'only display container ids')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', 'filter output (status=, name=, id=)', collect, [])
    .option('--format <format>', "'table' (default) or 'json'")
    .action(async (flags: { all?: boolean; quiet?: boolean; trunc: boolean; filter: string[]; format?: string }, cmd: Command) => {
      if (flags.format && flags.format !== 'json' && flags.format !== 'table') {
        throw new TsrunError('INVALID_ARGUMENT', `unsupported --format ${JSON.stringify(flags.format)}: use "json" or "table"`);
      }
      const filters = parseFilters(flags.filter);
      const tsrun = await tsrunFor(cmd);
      // A status filter looks at every container, as in Docker.
      const views = (await tsrun.containers.summaries(!!flags.all || filters.length > 0)).filter((v) => filters.every((f) => f(v)));
      const id = (v: ContainerSummary) => (flags.trunc ? v.record.id.slice(0, 12) : v.record.id);
      if (flags.quiet) {
        out(views.map((v) => `${id(v)}\n`).join(''));
        return;
      }
      const now = Date.now();
      if (flags.format === 'json') {
        for (const v of views) {
          const created = new Date(v.record.created);
          out(`${JSON.stringify({
            Command: commandText(v.command, flags.trunc),
            CreatedAt: created.toISOString(),
            ID: id(v),
            Image: v.image,
            Labels: '',
            Mounts: '',
            Names: v.record.name,
            Networks: Object.keys(v.record.request?.network?.networks ?? {}).join(','),
            Ports: portsText(v),
            RunningFor: `${statusText({ ...v, status: 'running', startedAt: v.record.created }, now).replace(/^Up /, '')} ago`,
            State: v.status,
            Status: statusText(v, now),
          })}\n`);
        }
        return;
      }
      const rows = views.map((v) => [
        id(v),
        v.image,
        commandText(v.command, flags.trunc),
        `${statusText({ ...v, status: 'running', startedAt: v.record.created }, now).replace(/^Up /, '')} ago`,
        statusText(v, now),
        portsText(v),
        v.record.name,
      ]);
      out(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows));
    });
}
