// commander's Command with two of its costs taken out of every run:
// - it finds an option by scanning every declared one (Option.is), once per
//   flag declared and once per flag parsed: for `run` and `create`, with ~140
//   options, that quadratic scan cost ~2 ms. The flags are indexed instead
//   (options are only ever appended).
// - an unknown option or verb is answered with "Did you mean ...?", whose
//   ties commander sorts with localeCompare: loading ICU's collation cost a
//   mistyped flag ~7 ms. The same suggestions are made here, sorted by code
//   unit (the candidates are ASCII flag and verb names).
import { Command, type Option } from 'commander';

export class FastCommand extends Command {
  // Set on first use, not as field initialisers: commander's constructor
  // could look an option up before those run.
  private flagIndex?: Map<string, Option>;
  private indexed?: number;

  override createCommand(name?: string): Command {
    return new FastCommand(name);
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

  /** commander's unknownOption, with suggestSimilar below. */
  unknownOption(flag: string): void {
    const self = this as unknown as { _allowUnknownOption: boolean; _showSuggestionAfterError: boolean; _enablePositionalOptions: boolean };
    if (self._allowUnknownOption) return;
    let suggestion = '';
    if (flag.startsWith('--') && self._showSuggestionAfterError) {
      // The global options too, up to a command with positional options.
      const flags: string[] = [];
      let command: Command | null = this;
      do {
        for (const o of command.createHelp().visibleOptions(command)) if (o.long) flags.push(o.long);
        const positional: boolean = (command as unknown as typeof self)._enablePositionalOptions;
        command = positional ? null : command.parent;
      } while (command);
      suggestion = suggestSimilar(flag, flags);
    }
    this.error(`error: unknown option '${flag}'${suggestion}`, { code: 'commander.unknownOption' });
  }

  /** commander's unknownCommand, with suggestSimilar below. */
  unknownCommand(): void {
    const name = this.args[0]!;
    let suggestion = '';
    if ((this as unknown as { _showSuggestionAfterError: boolean })._showSuggestionAfterError) {
      const names: string[] = [];
      for (const c of this.createHelp().visibleCommands(this)) names.push(c.name(), ...(c.alias() ? [c.alias()] : []));
      suggestion = suggestSimilar(name, names);
    }
    this.error(`error: unknown command '${name}'${suggestion}`, { code: 'commander.unknownCommand' });
  }
}

const MAX_DISTANCE = 3;

/** commander's suggestSimilar (lib/suggestSimilar.js): the closest candidates by optimal string alignment distance. */
export function suggestSimilar(word: string, candidates: string[]): string {
  const options = word.startsWith('--');
  const strip = (s: string): string => (options ? s.slice(2) : s);
  const target = strip(word);
  let similar: string[] = [];
  let best = MAX_DISTANCE;
  for (const candidate of new Set(candidates.map(strip))) {
    if (candidate.length <= 1) continue; // no one-character guesses
    const distance = editDistance(target, candidate);
    const length = Math.max(target.length, candidate.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      similar = [candidate];
    } else if (distance === best) similar.push(candidate);
  }
  similar = similar.sort().map((s) => (options ? `--${s}` : s));
  if (similar.length > 1) return `\n(Did you mean one of ${similar.join(', ')}?)`;
  return similar.length === 1 ? `\n(Did you mean ${similar[0]}?)` : '';
}

/**
 * Optimal string alignment distance when it is at most MAX_DISTANCE, else
 * MAX_DISTANCE + 1 (no farther candidate is ever suggested). Rows stop once
 * every cell of one exceeds the cap (no path back under it, transpositions
 * included: a transposition's cell is reached through the row between at
 * one edit less). A verb with ~140 flags computes this per flag, mostly in
 * V8's interpreter: a full matrix per candidate (commander's) cost a typo
 * ~7 ms, full rows ~3.
 */
function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > MAX_DISTANCE) return MAX_DISTANCE + 1;
  let before = new Int32Array(n + 1); // row j-2
  let prev = new Int32Array(n + 1); // row j-1
  let row = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) prev[i] = i;
  for (let j = 1; j <= m; j++) {
    const bj = b.charCodeAt(j - 1);
    const bBefore = j > 1 ? b.charCodeAt(j - 2) : -1;
    row[0] = j;
    let least = j;
    for (let i = 1; i <= n; i++) {
      const ai = a.charCodeAt(i - 1);
      let v = prev[i - 1]! + (ai === bj ? 0 : 1);
      if (prev[i]! + 1 < v) v = prev[i]! + 1;
      if (row[i - 1]! + 1 < v) v = row[i - 1]! + 1;
      // a transposition
      if (i > 1 && ai === bBefore && a.charCodeAt(i - 2) === bj && before[i - 2]! + 1 < v) v = before[i - 2]! + 1;
      row[i] = v;
      if (v < least) least = v;
    }
    if (least > MAX_DISTANCE) return MAX_DISTANCE + 1;
    const t = before;
    before = prev;
    prev = row;
    row = t;
  }
  return Math.min(prev[n]!, MAX_DISTANCE + 1);
}
