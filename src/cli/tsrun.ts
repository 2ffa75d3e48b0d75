#!/usr/bin/env -S node --
// The Docker-like CLI. Verbs live in ./commands, one file each, declared by
// ./program.ts, and load core lazily so `tsrun --help` and short commands
// start fast. bin/tsrun runs this from its bundle (scripts/bundle.mjs).
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { reportError } from './errors.js';

const program = buildProgram(process.argv);

// Docker exits 125 when `run`/`create` itself fails, and 1 for the other verbs' errors.
let verb = '';
program.hook('preAction', (_program, action) => {
  // `network create` is not `create`: only the top-level verbs count.
  verb = action.parent === program ? action.name() : `${action.parent?.name()} ${action.name()}`;
  // bin/launch.cjs keeps the core bundle's code cache per verb.
  (globalThis as Record<symbol, unknown>)[Symbol.for('tsrun.verb')] = verb;
});

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are tsrun's failure (125), as in Docker.
      process.exitCode = err.exitCode === 0 ? 0 : 125;
    } else {
      process.exitCode = reportError(err, verb === 'run' || verb === 'create' || verb === '' ? 125 : 1);
    }
  }
  // stdin relays and signal listeners would otherwise keep us alive.
  process.exit();
}

void main();
