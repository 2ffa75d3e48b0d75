#!/usr/bin/env -S node --
// The runc-compatible runtime CLI that engines drive (podman --runtime,
// conmon, containerd's BinaryName). Global options come before the verb, as
// with runc; each verb group lives in ./oci and loads core lazily.
//
// Errors: one line at level "error" to --log in --log-format (JSON lines
// {"level","msg","time"} are what containerd's shim and conmon parse) and
// to stderr; exit code 1. `run` and foreground `exec` exit with the
// container process's own code (128+N after signal N).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { TsrunError } from '../errors.js';
import { DEFAULT_ROOT, log, out, stderrIsContainers, writeFd, type GlobalOptions } from './oci/context.js';
import { registerCreate } from './oci/create.js';
import { registerExec } from './oci/exec.js';
import { registerLifecycle } from './oci/lifecycle.js';
import { registerState } from './oci/state.js';
import { registerUpdate } from './oci/update.js';
import { versionText } from './oci/version.js';

const program = new Command('tsrun-oci')
  .description('tsrun-oci implements the OCI runtime command line (as runc does) on the tsrun engine')
  .usage('[global options] command [command options] [arguments...]')
  .version(versionText(), '-v, --version', 'print the version')
  .option('--root <dir>', 'root directory for storage of container state (should be on tmpfs)', DEFAULT_ROOT)
  .option('--log <file>', 'set the log file to write runtime logs to (default: stderr)')
  .option('--log-format <format>', "set the log format ('text' or 'json')", (v) => {
    if (v !== 'text' && v !== 'json') throw new InvalidArgumentError('text or json');
    return v;
  }, 'text')
  .option('--debug', 'enable debug logging')
  .option('--systemd-cgroup', 'systemd cgroup driver: accepted, but tsrun-oci refuses to create containers with it (unsupported)')
  .option('--rootless <value>', 'accepted for runc compatibility (tsrun-oci runs as root only)')
  .option('--criu <path>', 'accepted for runc compatibility (checkpoint/restore is not supported)')
  .enablePositionalOptions()
  .exitOverride()
  .configureOutput({
    writeOut: (s) => out(s),
    writeErr: (s) => writeFd(2, s),
    // Usage errors go through the runtime's log like any other error.
    outputError: (s) => log(program.opts<GlobalOptions>(), 'error', s.replace(/^error: /, '').trim()),
  });

registerCreate(program);
registerExec(program);
registerLifecycle(program);
registerState(program);
registerUpdate(program);

// A verb runc has and tsrun-oci does not: a clear refusal, not "unknown command".
program
  .command('spec')
  .description('not supported by tsrun-oci')
  .allowUnknownOption()
  .allowExcessArguments()
  .action(() => {
    throw new TsrunError('UNSUPPORTED', '"spec" is not supported by tsrun-oci');
  });

for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());

program.hook('preAction', (_p, action) => {
  // From here on, create's and run's stderr is also their container's.
  if (action.name() === 'create' || action.name() === 'run') stderrIsContainers();
  log(program.opts<GlobalOptions>(), 'debug', `tsrun-oci ${process.argv.slice(2).join(' ')}`);
});

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 1;
    } else {
      const { messageFor } = await import('./errors.js');
      log(program.opts<GlobalOptions>(), 'error', messageFor(err).split('\n')[0]);
      if (err instanceof Error && program.opts<GlobalOptions>().debug) log(program.opts<GlobalOptions>(), 'debug', err.stack ?? '');
      process.exitCode = 1;
    }
  }
  // Signal listeners and a terminal relay would otherwise keep us alive.
  process.exit();
}

void main();
