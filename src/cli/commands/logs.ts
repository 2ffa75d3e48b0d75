// `tsrun logs [-f] [--tail N] [--since T] [--until T] [-t] CONTAINER`
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("fetch a container's output")
    .argument('<container>')
    .option('-f, --follow', 'follow the output until the container stops')
    .option('-n, --tail <lines>', 'number of lines from the end ("all" for everything)', 'all')
    .option('--since <time>', 'only after this time (RFC 3339, Unix seconds, or a duration such as 10m)')
    .option('--until <time>', 'only before this time (RFC 3339, Unix seconds, or a duration such as 10m)')
    .option('-t, --timestamps', 'show timestamps')
    .action(async (ref: string, flags: { follow?: boolean; tail: string; since?: string; until?: string; timestamps?: boolean }, cmd: Command) => {
      const { checkReadable, parseSince, parseTail, readLogs } = await import('../../runtime/logs.js');
      const tail = parseTail(flags.tail);
      const sinceMs = flags.since === undefined ? undefined : parseSince(flags.since);
      const untilMs = flags.until === undefined ? undefined : parseSince(flags.until, Date.now(), '--until');
      const c = (await tsrunFor(cmd)).containers;
      const id = await c.resolve(ref);
      checkReadable(await c.store.read(id));
      const running = async () => {
        const v = await c.view(id).catch(() => null);
        return v !== null && (v.status === 'running' || v.status === 'paused');
      };
      for await (const e of readLogs(c.logPath(id), { tail, sinceMs, untilMs, follow: flags.follow, running })) {
        const out = e.stream === 'stderr' ? process.stderr : process.stdout;
        out.write(flags.timestamps ? `${e.time} ${e.log}` : e.log);
      }
    });
}
