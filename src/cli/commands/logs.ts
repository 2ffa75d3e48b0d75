// `tsrun logs [-f] [--tail N] [--since T] [--until T] [-t] CONTAINER`
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { writeFd } from '../write.js';

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
      const { containerLogs, parseSince, parseTail } = await import('../../runtime/logs.js');
      const tail = parseTail(flags.tail);
      const sinceMs = flags.since === undefined ? undefined : parseSince(flags.since);
      const untilMs = flags.until === undefined ? undefined : parseSince(flags.until, Date.now(), '--until');
      const c = (await tsrunFor(cmd)).containers;
      const id = await c.resolve(ref);
      // Written straight to fds 1 and 2 (write.ts: process.stdout would load
      // Node's stream modules, ~4 ms); a reader gone (`logs -f | head`) ends it.
      for await (const e of containerLogs(c, id, await c.store.read(id), { tail, sinceMs, untilMs, follow: flags.follow })) {
        if (!writeFd(e.stream === 'stderr' ? 2 : 1, flags.timestamps ? `${e.time} ${e.log}` : e.log)) break;
      }
    });
}
