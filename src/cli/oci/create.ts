// `create`, `start` and `run` (create + start, and without -d wait for the
// container as its parent). The container's stdio is tsrun-oci's own fds
// 0-2, or with process.terminal a pty whose master goes to --console-socket.
// After `create` exits, the container is reparented to the caller's
// subreaper (conmon, the containerd shim), as with runc.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import type { Engine } from '../../runtime/engine.js';
import { engineFor, engineWith, globals, log } from './context.js';

interface CreateFlags {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: string;
}

interface RunFlags extends CreateFlags {
  detach?: boolean;
  keep?: boolean;
}

function createOptions(cmd: Command): Command {
  return cmd
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .option('--console-socket <path>', 'AF_UNIX socket that receives the pty master (process.terminal)')
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--no-pivot', 'do not use pivot_root to jail the process inside the rootfs')
    .option('--no-new-keyring', 'accepted for runc compatibility (no session keyring is created)')
    .option('--preserve-fds <n>', 'pass N additional fds (3 .. 3+N-1) to the container', '0');
}

// Commander turns --no-pivot into pivot=false; keep runc's meaning.
function flagsOf(cmd: Command): CreateFlags {
  const o = cmd.opts();
  return { ...o, noPivot: o.pivot === false, noNewKeyring: o.newKeyring === false } as CreateFlags;
}

/** runc's --preserve-fds N: a count of fds from 3 on. */
export function parsePreserveFds(v: string | undefined): number {
  if (v === undefined) return 0;
  if (!/^\d+$/.test(v) || Number(v) > 1 << 16) throw new TsrunError('INVALID_ARGUMENT', `invalid --preserve-fds ${JSON.stringify(v)}: expected a count`);
  return Number(v);
}

/**
 * `reportExecErrors` when this same engine will also start the container
 * (`run`): errors after the start signal (no such command, a user or cwd
 * that cannot be used) then come back from start() instead of only ending
 * the container.
 */
async function createContainer(engine: Engine, id: string, flags: CreateFlags, cmd: Command, reportExecErrors = false): Promise<{ pid: number }> {
  const g = globals(cmd);
  const preserveFds = parsePreserveFds(flags.preserveFds);
  const { loadBundle } = await import('./bundle.js');
  const { bundle, spec, warnings } = await loadBundle(flags.bundle, g);
  for (const w of warnings) log(g, 'warning', w);
  const rec = await engine.create(id, {
    bundle,
    spec,
    pidFile: flags.pidFile,
    consoleSocket: flags.consoleSocket,
    noPivot: flags.noPivot,
    preserveFds,
    stdio: [0, 1, 2],
    reportExecErrors,
  });
  log(g, 'debug', `created container ${id} (pid ${rec.pid}) from ${bundle}`);
  return { pid: rec.pid };
}

export function registerCreate(program: Command): void {
  createOptions(program.command('create').description('create a container').argument('<container-id>'))
    .action(async (id: string, _f: unknown, cmd: Command) => {
      await createContainer(await engineFor(cmd), id, flagsOf(cmd), cmd);
    });

  program
    .command('start')
    .description('executes the user defined process in a created container')
    .argument('<container-id>')
    .action(async (id: string, _f: unknown, cmd: Command) => {
      for (const w of await (await engineWith(cmd, id)).start(id)) log(globals(cmd), 'warning', w);
    });

  createOptions(program.command('run').description('create and run a container').argument('<container-id>'))
    .option('-d, --detach', "detach from the container's process")
    .option('--keep', 'do not delete the container after it exits')
    .option('--no-subreaper', 'accepted for runc compatibility')
    .action(async (id: string, _f: unknown, cmd: Command) => {
      const flags: RunFlags = { ...flagsOf(cmd), detach: cmd.opts().detach, keep: cmd.opts().keep };
      const { native } = await import('../../native/binding.js');
      const engine = await engineFor(cmd);
      const { pid } = await createContainer(engine, id, flags, cmd, true);
      try {
        for (const w of await engine.start(id)) log(globals(cmd), 'warning', w);
      } catch (err) {
        await engine.delete(id, true).catch(() => {});
        throw err;
      }
      if (flags.detach) return;
      // runc forwards the signals it gets to the container.
      const forward = (sig: NodeJS.Signals) => () => {
        try {
          process.kill(pid, sig);
        } catch {
          // already gone
        }
      };
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGWINCH'] as const) process.on(sig, forward(sig));
      const st = await native.waitExit(pid);
      if (!flags.keep) await engine.delete(id, true);
      process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
    });
}
