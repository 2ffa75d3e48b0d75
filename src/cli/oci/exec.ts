// `exec [--process FILE | CMD...] ID`: a new process in a running
// container's namespaces and cgroup. Podman (through conmon) uses
// `exec --process F --detach --pid-file P [--console-socket S] ID`.
// Without --detach, tsrun-oci waits for the process and exits with its code.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import type { OciProcess } from '../../spec/oci.js';
import { engineFor } from './context.js';

interface ExecFlags {
  consoleSocket?: string;
  cwd?: string;
  env?: string[];
  tty?: boolean;
  user?: string;
  additionalGids?: string[];
  process?: string;
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  noNewPrivs?: boolean;
  cap?: string[];
  preserveFds: string;
  cgroup?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function readProcess(path: string): Promise<OciProcess> {
  let proc: OciProcess;
  try {
    proc = JSON.parse(await readFile(path, 'utf8')) as OciProcess;
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read the process spec ${path}: ${(cause as Error).message}`, { cause });
  }
  if (!Array.isArray(proc.args) || proc.args.length === 0) throw new TsrunError('INVALID_ARGUMENT', `${path}: args must not be empty`);
  if (!proc.cwd) throw new TsrunError('INVALID_ARGUMENT', `${path}: cwd must be set`);
  if (!proc.user) throw new TsrunError('INVALID_ARGUMENT', `${path}: user must be set`);
  return proc;
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('execute a new process inside the container')
    .argument('<container-id>')
    .argument('[command...]')
    .option('--console-socket <path>', 'AF_UNIX socket that receives the pty master')
    .option('--cwd <dir>', 'current working directory in the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect)
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-u, --user <uid[:gid]>', 'UID (format: <uid>[:<gid>])')
    .option('-g, --additional-gids <gid>', 'additional gids (repeatable)', collect)
    .option('-p, --process <file>', 'path to the process.json')
    .option('-d, --detach', "detach from the container's process")
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--process-label <label>', 'SELinux process label (not supported)')
    .option('--apparmor <profile>', 'AppArmor profile for the process')
    .option('--no-new-privs', 'set the no new privileges value for the process')
    .option('-c, --cap <cap>', 'add a capability to the process (repeatable)', collect)
    .option('--preserve-fds <n>', 'pass N additional fds (3 .. 3+N-1) to the process', '0')
    .option('--cgroup <path>', 'run the process in a sub-cgroup (not supported)')
    .option('--ignore-paused', 'accepted for runc compatibility (exec in a paused container is refused)')
    .passThroughOptions()
    .action(async (id: string, command: string[], _f: unknown, cmd: Command) => {
      const o = cmd.opts();
      const flags = { ...o, noNewPrivs: o.newPrivs === false } as ExecFlags;
      const { parsePreserveFds } = await import('./create.js');
      const preserveFds = parsePreserveFds(flags.preserveFds);
      if (flags.processLabel) throw new TsrunError('UNSUPPORTED', '--process-label: tsrun-oci has no SELinux support');
      if (flags.cgroup) throw new TsrunError('UNSUPPORTED', '--cgroup: exec into a sub-cgroup is not supported');
      const engine = await engineFor(cmd);
      let proc: OciProcess;
      if (flags.process) {
        // runc: with --process the file says everything; the other flags are ignored.
        proc = await readProcess(flags.process);
      } else {
        const [{ readSpec }, { execProcess }] = await Promise.all([import('../../runtime/engine.js'), import('../../runtime/oci-features.js')]);
        const spec = await readSpec((await engine.load(id)).bundle);
        proc = execProcess(spec.process, {
          args: command, env: flags.env, cwd: flags.cwd, user: flags.user, additionalGids: flags.additionalGids,
          tty: flags.tty, caps: flags.cap, noNewPrivs: flags.noNewPrivs,
        });
      }
      if (flags.apparmor) proc.apparmorProfile = flags.apparmor;
      if (proc.terminal && flags.detach && !flags.consoleSocket) {
        throw new TsrunError('INVALID_ARGUMENT', 'cannot allocate a tty when detaching without --console-socket');
      }
      const started = await engine.exec(id, proc, {
        stdio: [0, 1, 2],
        consoleSocket: flags.consoleSocket,
        pidFile: flags.pidFile,
        killOnParentDeath: false,
        preserveFds,
      });
      if (flags.detach) return;
      const { native } = await import('../../native/binding.js');
      let relayDone: Promise<void> = Promise.resolve();
      let restore = (): void => {};
      if (started.ptyMaster !== null) {
        // A foreground tty without a console socket: relay it to our own terminal.
        const { relayTerminal } = await import('../../runtime/console.js');
        if (process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          restore = () => process.stdin.setRawMode(false);
        }
        const relay = relayTerminal(native, started.ptyMaster, { input: process.stdin, output: process.stdout });
        if (process.stdout.isTTY) {
          relay.resize(process.stdout.rows, process.stdout.columns);
          process.stdout.on('resize', () => relay.resize(process.stdout.rows, process.stdout.columns));
        }
        relayDone = relay.done.finally(() => relay.close());
      } else {
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const) {
          process.on(sig, () => {
            try {
              process.kill(started.pid, sig);
            } catch {
              // already gone
            }
          });
        }
      }
      const st = await native.waitExit(started.pid);
      await Promise.race([relayDone, new Promise((r) => setTimeout(r, 2000).unref())]);
      restore();
      process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
    });
}
