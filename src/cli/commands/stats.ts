// `tsrun stats [-a] [--no-stream] [--format F] [CONTAINER...]`: CPU %,
// memory, network and block I/O, PIDs, Docker's table every second (the
// screen cleared first on a terminal) until interrupted, or one table with
// --no-stream. Readings come from the core: the cgroup (Cgroup.stats) and
// the container's network namespace (Containers.netIO).
import type { Command } from 'commander';
import type { ContainerView } from '../../runtime/containers.js';
import { tsrunFor } from '../context.js';
import { bytesSize, listFormat, table } from '../format.js';
import { out } from '../write.js';

/** Each field's column (docker/cli's stats context). */
const HEADER = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
  NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

interface Sample {
  cpuNs: number;
  at: bigint;
  mem: number;
  limit: number | null;
  pids: number;
  net: { rxBytes: number; txBytes: number } | null;
  blockRead: number;
  blockWrite: number;
}

/** go-units HumanSizeWithPrecision(n, 3), as docker stats prints NET I/O and BLOCK I/O: 1.45kB, 648B. */
function size3(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('display resource usage of running containers (a live stream; --no-stream for one table)')
    .argument('[container...]')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('--no-stream', 'print one sample and exit')
    .option('--format <format>', "'table' (default), 'json', or a Go template ('table TEMPLATE' adds the header)")
    .action(async (refs: string[], flags: { all?: boolean; stream: boolean; format?: string }, cmd: Command) => {
      const render = await listFormat(flags.format, HEADER);
      const c = (await tsrunFor(cmd)).containers;
      // The host's memory, the limit of a container without one (node:os: loaded here, not by every verb).
      const totalmem = (await import('node:os')).totalmem();
      const named = refs.length ? await Promise.all(refs.map(async (r) => [r, await c.resolve(r)] as const)) : undefined;

      // The containers to show now: those named, else every running one (every one with -a), picked up as they come and go.
      const views = async (): Promise<Array<{ ref: string; view: ContainerView }>> => {
        if (named) {
          const found = await Promise.all(named.map(async ([ref, id]) => ({ ref, view: await c.view(id).catch(() => null) })));
          return found.filter((f): f is { ref: string; view: ContainerView } => f.view !== null);
        }
        return (await c.list(!!flags.all)).map((view) => ({ ref: view.record.id.slice(0, 12), view }));
      };
      const sample = async (v: ContainerView): Promise<Sample | null> => {
        if (v.status !== 'running' && v.status !== 'paused') return null;
        const rec = await c.engine.load(v.record.id).catch(() => null);
        const s = rec && (await c.engine.cgroup(rec).stats().catch(() => null));
        if (!s) return null;
        const net = await c.netIO(v);
        return {
          cpuNs: s.cpuUsageNs, at: process.hrtime.bigint(), mem: s.memoryUsage, limit: s.memoryLimit, pids: s.pids, net,
          blockRead: s.blockRead, blockWrite: s.blockWrite,
        };
      };
      const row = (ref: string, v: ContainerView, s: Sample | null, before: Sample | undefined) => {
        if (!s) {
          return { BlockIO: '0B / 0B', CPUPerc: '0.00%', Container: ref, ID: v.record.id.slice(0, 12), MemPerc: '0.00%', MemUsage: '0B / 0B', Name: v.record.name, NetIO: '0B / 0B', PIDs: '0' };
        }
        // CPU % needs two readings, as Docker takes: CPU time over wall time (100% a CPU).
        const wall = before ? Number(s.at - before.at) : 0;
        const cpu = before && wall > 0 ? (Math.max(0, s.cpuNs - before.cpuNs) / wall) * 100 : 0;
        const limit = s.limit ?? totalmem;
        return {
          BlockIO: `${size3(s.blockRead)} / ${size3(s.blockWrite)}`,
          CPUPerc: `${cpu.toFixed(2)}%`,
          Container: ref,
          ID: v.record.id.slice(0, 12),
          MemPerc: `${((s.mem / limit) * 100).toFixed(2)}%`,
          MemUsage: `${bytesSize(s.mem)} / ${bytesSize(limit)}`,
          Name: v.record.name,
          NetIO: s.net ? `${size3(s.net.rxBytes)} / ${size3(s.net.txBytes)}` : '0B / 0B',
          PIDs: String(s.pids),
        };
      };

      const clear = flags.stream && !!process.stdout.isTTY;
      let previous = new Map<string, Sample>();
      for (let first = true; ; first = false) {
        const shown = await views();
        const samples = await Promise.all(shown.map(({ view }) => sample(view)));
        // The first table waits for a second reading, so that its CPU % means something.
        if (first && samples.some((s) => s !== null)) {
          shown.forEach(({ view }, i) => samples[i] && previous.set(view.record.id, samples[i]!));
          await new Promise((r) => setTimeout(r, 1000));
          samples.splice(0, samples.length, ...(await Promise.all(shown.map(({ view }) => sample(view)))));
        }
        const rows = shown.map(({ ref, view }, i) => row(ref, view, samples[i], previous.get(view.record.id)));
        const text = render(
          () => rows,
          () => table(
            ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
            rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]),
          ),
        );
        out(clear ? `\x1b[2J\x1b[H${text}` : text);
        if (!flags.stream) return;
        previous = new Map(shown.flatMap(({ view }, i) => (samples[i] ? [[view.record.id, samples[i]!] as const] : [])));
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
}
