import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, verbSummary, VERBS } from '../../src/cli/program.js';

const namesOf = (program: Command) => program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort();
const argv = (...args: string[]) => ['node', 'tsrun', ...args];

describe('the verb table', () => {
  it('lists exactly the verbs each register function declares', () => {
    for (const [names, register] of VERBS) {
      const program = new Command('tsrun').enablePositionalOptions();
      register(program);
      expect(namesOf(program)).toEqual([...names].sort());
    }
  });

  it('declares every verb for --help, `help`, no verb and a verb that does not exist', () => {
    const all = VERBS.flatMap(([names]) => names).sort();
    for (const args of [['--help'], ['help'], [], ['stp'], ['--root', '/r', 'nonesuch']]) {
      expect(namesOf(buildProgram(argv(...args), undefined))).toEqual(all);
    }
  });

  it('prints the same root help from the bundled verb summary, without declaring any verb\'s flags', () => {
    const helpOf = (program: Command) => {
      program.configureOutput({ getOutHelpWidth: () => 100 });
      return program.helpInformation();
    };
    const full = buildProgram(argv('--help'), undefined);
    const summary = verbSummary(full);
    expect(summary.find(([name]) => name === 'run')).toEqual(['run', 'run [options] [image-and-command...]', 'run a command in a new container']);
    const listed = buildProgram(argv('--help'), summary);
    expect(helpOf(listed)).toEqual(helpOf(full));
    expect(listed.commands.every((c) => c.options.length === 0 && c.commands.length === 0)).toBe(true);
    // A verb the summary lacks is not listed: the text really comes from it.
    expect(helpOf(buildProgram(argv('--help'), summary.filter(([name]) => name !== 'pull')))).not.toContain('download an image');
  });

  it('`help X` declares X alone, as X --help would', () => {
    const summary = verbSummary(buildProgram(argv('--help'), undefined));
    expect(namesOf(buildProgram(argv('help', 'run'), summary))).toEqual(['run']);
    expect(namesOf(buildProgram(argv('--root', '/r', 'help', 'network'), summary))).toEqual(['network']);
  });

  it('names the verb whose code cache the launcher keeps: the root help as `help`, an unknown verb not at all', () => {
    const VERB = Symbol.for('tsrun.verb');
    const named = (...args: string[]) => {
      delete (globalThis as Record<symbol, unknown>)[VERB];
      buildProgram(argv(...args));
      return (globalThis as Record<symbol, unknown>)[VERB];
    };
    expect(named('--root', '/r', '--help')).toBe('help');
    expect(named('-h')).toBe('help');
    expect(named('help')).toBe('help');
    expect(named('help', 'run')).toBe('run');
    expect(named('run', '--help')).toBe('run');
    expect(named('stp')).toBeUndefined();
    expect(named('--version')).toBeUndefined();
  });

  it('declares only the named verb, found past the global options and their values', () => {
    expect(namesOf(buildProgram(argv('run', 'alpine')))).toEqual(['run']);
    expect(namesOf(buildProgram(argv('--root', 'ps', '--runroot=/x', 'inspect', 'c1')))).toEqual(['inspect']);
    expect(namesOf(buildProgram(argv('--registry-mirror', 'm', '--insecure-registry', 'h', 'rm', 'x')))).toEqual(
      VERBS.find(([n]) => n.includes('rm'))![0].slice().sort(),
    );
    expect(namesOf(buildProgram(argv('--', 'logs')))).toEqual(['logs']);
    expect(namesOf(buildProgram(argv('--version')))).toEqual([]);
    expect(namesOf(buildProgram(argv('--root', '/r', '-v')))).toEqual([]);
    expect(namesOf(buildProgram(argv('-v', '--help'), undefined))).toEqual(VERBS.flatMap(([names]) => names).sort());
  });
});
