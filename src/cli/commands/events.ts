// `tsrun events [--since T] [--until T] [-f KEY=VALUE]... [--format json|TEMPLATE]`
// (also `system events`): the root's event journal, Docker's lines.
// Without --until it follows live; without --since it shows only new events.
import { writeFd } from '../write.js';
import type { Command } from 'commander';
import { collect, globalOptions } from '../options.js';
import type { EventMessage } from '../../events/types.js';

interface EventsFlags { since?: string; until?: string; filter?: string[]; format?: string }

export function registerEvents(program: Command): void {
  addEvents(program, 'events');
}

export function addEvents(parent: Command, name: string): void {
  parent
    .command(name)
    .description('get real time events from the runtime')
    .option('--since <time>', 'show events since this time (Unix seconds, RFC 3339, or a duration such as 10m)')
    .option('--until <time>', 'stream events until this time, then exit')
    .option('-f, --filter <key=value>', 'container, event, image, label, network, type, volume (repeatable)', collect, [])
    .option('--format <format>', "'json' for one JSON object per line, or a Go template ('{{.Type}} {{.Action}}')")
    .action(async (flags: EventsFlags, cmd: Command) => {
      const [{ parseEventFilters, parseEventTimes }, { followEvents }] = await Promise.all([
        import('../../events/filters.js'), import('../../events/follow.js'),
      ]);
      // Everything the user typed is checked before the journal is read.
      const filter = parseEventFilters(flags.filter);
      const { since, until } = parseEventTimes(flags.since, flags.until);
      const print = await formatter(flags.format);
      // A reader that went away (`tsrun events | head -1`) ends the stream, as it ends Docker's.
      const gone = new AbortController();
      const onEvent = (ev: EventMessage) => {
        if (!gone.signal.aborted && !writeFd(1, print(ev))) gone.abort();
      };
      await followEvents(globalOptions(cmd).root!, onEvent, { since, until, filter, signal: gone.signal });
    });
}

async function formatter(format: string | undefined): Promise<(ev: EventMessage) => string> {
  if (format === 'json' || format === '{{json .}}') return (ev) => `${JSON.stringify(ev)}\n`;
  if (format === undefined || format === '') return (await import('../event-text.js')).eventText;
  const { inspectFormat } = await import('../format.js');
  const render = (await inspectFormat(format, [['Actor.Attributes', '']]))!;
  return (ev) => render(structuredClone(ev));
}
