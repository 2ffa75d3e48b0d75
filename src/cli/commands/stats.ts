// `tsrun stats [--no-stream] [CONTAINER...]`: CPU %, memory, PIDs from the cgroup.
import { totalmem } from 'node:os';
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { bytesSize, table } from '../format.js';
import { out } from '../write.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('display resource usage of running containers')
    .argument('[container...]')
    .option('--no-stream', 'print one sample and exit')
    .option('--format <format>', "'table' (default) or 'json'")
    .action(async (refs: string[], flags: { stream: boolean; format?: string }, cmd: Command) => {
      const c = (await tsrunFor(cmd)).containers;
      const ids = refs.length ? await Promise.all(refs.map((r) => c.resolve(r))) : (await c.list(false)).map((v) => v.record.id);
      const sample = async () => {
        const out = new Map<string, { cpu: number; mem: number; limit: number | null; pids: number }>();
        for (const id of ids) {
          const rec = await c.engine.load(id).catch(() => null);
          const s = rec && (await c.engine.cgroup(rec).stats().catch(() => null));
          if (s) out.set(id, { cpu: s.cpuUsageNs, mem: s.memoryUsage, limit: s.memoryLimit, pids: s.pids });
        }
        return out;
      };
      for (;;) {
        // CPU % needs two readings, as Docker takes.
        const a = await sample();
        const t0 = process.hrtime.bigint();
        await new Promise((r) => setTimeout(r, 1000));
        const b = await sample();
        const wall = Number(process.hrtime.bigint() - t0);
        const rows: string[][] = [];
        const docs: Record<string, string>[] = [];
        for (const id of ids) {
          const s = b.get(id);
          if (!s) continue;
          const name = (await c.store.read(id)).name;
          const cpu = a.has(id) ? ((s.cpu - a.get(id)!.cpu) / wall) * 100 : 0;
          const limit = s.limit ?? totalmem();
          const row = { id: id.slice(0, 12), name, cpu: `${cpu.toFixed(2)}%`, mem: `${bytesSize(s.mem)} / ${bytesSize(limit)}`, memPct: `${((s.mem / limit) * 100).toFixed(2)}%`, pids: String(s.pids) };
          rows.push([row.id, row.name, row.cpu, row.mem, row.memPct, '--', '--', row.pids]);
          docs.push({ ID: row.id, Name: row.name, CPUPerc: row.cpu, MemUsage: row.mem, MemPerc: row.memPct, NetIO: '--', BlockIO: '--', PIDs: row.pids });
        }
        if (flags.format === 'json') out(docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
        else out(table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], rows));
        if (!flags.stream) return;
      }
    });
}
