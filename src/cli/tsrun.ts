#!/usr/bin/env -S node --
// The Docker-like CLI. Verbs live in ./commands, one file each, and load
// core lazily so `tsrun --help` and short commands start fast.
import { Command, CommanderError } from 'commander';
import { registerAttach } from './commands/attach.js';
import { registerBuild } from './commands/build.js';
import { registerBuilder } from './commands/builder.js';
import { registerCheck } from './commands/check.js';
import { registerCommit } from './commands/commit.js';
import { registerCreate } from './commands/create.js';
import { registerDiff } from './commands/diff.js';
import { registerExec } from './commands/exec.js';
import { registerExport } from './commands/export.js';
import { registerHistory } from './commands/history.js';
import { registerImage } from './commands/image.js';
import { registerImages } from './commands/images.js';
import { registerImport } from './commands/import.js';
import { registerInspect } from './commands/inspect.js';
import { registerLoad } from './commands/load.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerLogin } from './commands/login.js';
import { registerLogs } from './commands/logs.js';
import { registerPs } from './commands/ps.js';
import { registerPull } from './commands/pull.js';
import { registerPush } from './commands/push.js';
import { registerRmi } from './commands/rmi.js';
import { registerRun } from './commands/run.js';
import { registerSave } from './commands/save.js';
import { registerStart } from './commands/start.js';
import { registerStats } from './commands/stats.js';
import { registerTag } from './commands/tag.js';
import { registerTop } from './commands/top.js';
import { registerVolume } from './commands/volume.js';
import { registerNetwork } from './commands/network.js';
import { registerPort } from './commands/port.js';
import { reportError } from './errors.js';
import { collect } from './options.js';

const program = new Command('tsrun')
  .description('a Linux container runtime')
  .version('0.1.0', '-v, --version')
  .option('--root <dir>', 'persistent storage directory', process.env.TSRUN_ROOT ?? '/var/lib/tsrun')
  .option('--runroot <dir>', 'runtime state directory', process.env.TSRUN_RUNROOT ?? '/run/tsrun')
  .option('--registry-mirror <url>', 'serve docker.io images from this mirror first (repeatable; env TSRUN_REGISTRY_MIRROR)', collect)
  .option('--insecure-registry <host[:port]>', 'allow plain http to this registry (repeatable; env TSRUN_INSECURE_REGISTRIES)', collect)
  .option('--default-network <name>', 'network of containers run without --network (env TSRUN_DEFAULT_NETWORK)', process.env.TSRUN_DEFAULT_NETWORK || 'bridge')
  .option('--default-subnet <cidr>', 'subnet of the default bridge network (env TSRUN_DEFAULT_SUBNET; default: a free /16 from 10.88.0.0 on)', process.env.TSRUN_DEFAULT_SUBNET || undefined)
  .option('--userns-remap <default|user[:group]>', "Docker's userns-remap: containers run without --userns get this user's subordinate ids (env TSRUN_USERNS_REMAP)", process.env.TSRUN_USERNS_REMAP || undefined)
  .enablePositionalOptions()
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

for (const register of [
  registerRun, registerCreate, registerStart, registerAttach, registerPs, registerLifecycle, registerLogs,
  registerExec, registerInspect, registerTop, registerStats, registerCheck,
  registerPull, registerPush, registerImages, registerImage, registerRmi, registerTag, registerHistory, registerLogin,
  registerSave, registerLoad, registerImport, registerExport, registerCommit, registerDiff,
  registerVolume, registerNetwork, registerPort, registerBuild, registerBuilder,
]) {
  register(program);
}
const exitOverrideAll = (cmd: Command): void => {
  for (const c of cmd.commands) {
    c.exitOverride();
    exitOverrideAll(c);
  }
};
exitOverrideAll(program);

// Docker exits 125 when `run`/`create` itself fails, and 1 for the other verbs' errors.
let verb = '';
program.hook('preAction', (_program, action) => {
  // `network create` is not `create`: only the top-level verbs count.
  verb = action.parent === program ? action.name() : `${action.parent?.name()} ${action.name()}`;
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
