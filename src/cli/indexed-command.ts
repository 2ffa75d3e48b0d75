// commander finds an option by scanning every declared one (Option.is), once
// per flag declared and once per flag parsed: for `run` and `create`, with
// ~140 options, that quadratic scan cost ~2 ms of every run. This Command
// keeps an index of the flags instead (options are only ever appended).
import { Command, type Option } from 'commander';

export class IndexedCommand extends Command {
  // Set on first use, not as field initialisers: commander's constructor
  // could look an option up before those run.
  private flagIndex?: Map<string, Option>;
  private indexed?: number;

  override createCommand(name?: string): Command {
    return new IndexedCommand(name);
  }

  /** commander's own lookup (lib/command.js): the first option with this short or long flag. */
  _findOption(arg: string): Option | undefined {
    const index = (this.flagIndex ??= new Map());
    for (this.indexed ??= 0; this.indexed < this.options.length; this.indexed++) {
      const o = this.options[this.indexed]!;
      for (const flag of [o.short, o.long]) if (flag && !index.has(flag)) index.set(flag, o);
    }
    return index.get(arg);
  }
}
