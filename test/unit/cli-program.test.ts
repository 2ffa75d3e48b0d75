import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, VERBS } from '../../src/cli/program.js';

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
    for (const args of [['--help'], ['help', 'run'], [], ['stp'], ['--root', '/r', 'nonesuch']]) {
      expect(namesOf(buildProgram(argv(...args)))).toEqual(all);
    }
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
    expect(namesOf(buildProgram(argv('-v', '--help')))).toEqual(VERBS.flatMap(([names]) => names).sort());
  });
});
