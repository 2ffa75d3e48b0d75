#!/usr/bin/env -S node --
// The Docker-like CLI. Verbs live in ./commands, one file each, and load
// core lazily so `tsrun --help` and short commands start fast.
import { Command, CommanderError } from 'commander';
import { registerCheck } from './commands/check.js';
import { registerRun } from './commands/run.js';
import { reportError } from './errors.js';

const program = new Command('tsrun')
  .description('a Linux container runtime')
  .version('0.1.0', '-v, --version')
  .option('--root <dir>', 'persistent storage directory', process.env.TSRUN_ROOT ?? '/var/lib/tsrun')
  .option('--runroot <dir>', 'runtime state directory', process.env.TSRUN_RUNROOT ?? '/run/tsrun')
  .enablePositionalOptions()
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerRun(program);
registerCheck(program);
for (const c of program.commands) c.exitOverride();

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are tsrun's failure (125), as in Docker.
      process.exitCode = err.exitCode === 0 ? 0 : 125;
    } else {
      process.exitCode = reportError(err);
    }
  }
  // stdin relays and signal listeners would otherwise keep us alive.
  process.exit();
}

void main();
