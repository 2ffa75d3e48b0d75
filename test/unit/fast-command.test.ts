// FastCommand must behave as commander's Command: the same option found for
// each flag, the same "Did you mean" text, the same errors.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { FastCommand, suggestSimilar } from '../../src/cli/fast-command.js';
import { buildProgram } from '../../src/cli/program.js';

// commander's own, from its file (the package does not export it).
const require = createRequire(import.meta.url);
const commanderSuggest = require(join(dirname(require.resolve('commander')), 'lib', 'suggestSimilar.js')).suggestSimilar as (w: string, c: string[]) => string;
const argv = (...args: string[]) => ['node', 'tsrun', ...args];

/** What parsing ARGS makes the program throw: commander's error code and message. */
function failure(program: Command, args: string[]): [string, string] {
  let text = '';
  program.exitOverride().configureOutput({ writeErr: (s) => (text += s), writeOut: () => {} });
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: (s) => (text += s), writeOut: () => {} });
  try {
    program.parse(args);
  } catch (err) {
    if (err instanceof CommanderError) return [err.code, text];
    throw err;
  }
  return ['', text];
}

describe('FastCommand', () => {
  const runFlags = buildProgram(argv('run')).commands.find((c) => c.name() === 'run')!.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => !!f);

  it('suggests what commander suggests, for typos of real flags and verbs and for words near none', () => {
    const verbs = buildProgram(argv('--help'), undefined).commands.map((c) => c.name());
    const words = ['--networ', '--netwrok', '--no-such', '--memroy', '--cpu', '--rm-f', '--', '--x', '--pubish', '--env-fil', '--security-op',
      'rnu', 'imgaes', 'pss', 'exce', 'stp', 'netwrok', 'x', 'builder', 'volumes', ''];
    for (const w of words) {
      expect(suggestSimilar(w, [...runFlags, '--root', '--runroot']), w).toBe(commanderSuggest(w, [...runFlags, '--root', '--runroot']));
      expect(suggestSimilar(w, verbs), w).toBe(commanderSuggest(w, verbs));
    }
    // Every flag of run with one to four edits (substitutions, insertions,
    // deletions, transpositions: the capped distance must rank as the full one).
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const flag of runFlags.filter((f) => f.startsWith('--'))) {
      let w = flag.slice(2);
      for (let edits = 1 + rand(4); edits > 0; edits--) {
        const at = rand(w.length + 1);
        const c = 'abcdemnrstuy-'[rand(13)];
        const kind = rand(4);
        if (kind === 0) w = w.slice(0, at) + c + w.slice(at + 1);
        else if (kind === 1) w = w.slice(0, at) + c + w.slice(at);
        else if (kind === 2) w = w.slice(0, at) + w.slice(at + 1);
        else if (at + 1 < w.length) w = w.slice(0, at) + w[at + 1] + w[at] + w.slice(at + 2);
      }
      expect(suggestSimilar(`--${w}`, runFlags), w).toBe(commanderSuggest(`--${w}`, runFlags));
    }
    // Ties are listed sorted.
    expect(suggestSimilar('--cpu', ['--cpus', '--cpuq', '--cpu-x'])).toBe('\n(Did you mean one of --cpuq, --cpus?)');
  });

  it('finds the option commander finds for every flag, and refuses a flag declared twice as commander does', () => {
    const fast = new FastCommand('t').option('-a, --alpha').option('--beta <v>').option('-b, --bravo');
    const plain = new Command('t').option('-a, --alpha').option('--beta <v>').option('-b, --bravo');
    for (const f of ['-a', '--alpha', '--beta', '-b', '--bravo', '--nope', '-z']) {
      const find = (c: Command) => (c as unknown as { _findOption(a: string): { flags: string } | undefined })._findOption(f)?.flags;
      expect(find(fast)).toBe(find(plain));
    }
    expect(() => fast.option('--alpha')).toThrow(/conflicting flag '--alpha'/);
    expect(() => fast.option('-b, --other')).toThrow(/conflicting flag '-b'/);
  });

  it('fails an unknown option or verb with commander\'s code and text', () => {
    const make = (C: typeof Command) => {
      const p = new C('tsrun').enablePositionalOptions().option('--root <dir>');
      p.command('run').option('--network <n>').option('--name <n>').action(() => {});
      p.command('ps').action(() => {});
      return p;
    };
    for (const args of [['run', '--networ', 'x'], ['run', '--no-such'], ['rnu'], ['--roo', 'x', 'ps'], ['ps', '--nam']]) {
      const got = failure(make(FastCommand), argv(...args));
      expect(got[0]).toMatch(/^commander\.unknown(Option|Command)$/);
      expect(got).toEqual(failure(make(Command), argv(...args)));
    }
  });
});
