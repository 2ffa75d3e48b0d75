// The read-only verbs: `state` (runc's JSON), `list`, `ps`, `features`.
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { TsrunError } from '../../errors.js';
import type { Engine, EngineState } from '../../runtime/engine.js';
import { engineFor, out } from './context.js';
import { VERSION, gitCommit } from '../../system/package-version.js';

/** runc's containerState: the runtime-spec state plus rootfs, created and owner. */
export function ociState(st: EngineState, owner = ''): Record<string, unknown> {
  return {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: st.pid,
    status: st.status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    ...(Object.keys(st.annotations ?? {}).length ? { annotations: st.annotations } : {}),
    owner,
  };
}

function formatOption(cmd: Command): Command {
  return cmd.option('-f, --format <format>', 'table or json', (v) => {
    if (v !== 'table' && v !== 'json') throw new InvalidArgumentError('table or json');
    return v;
  }, 'table');
}

// runc's list: Go's tabwriter with minwidth 12 and padding 3.
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max(12, widths[i] + 3)))).join('').trimEnd() + '\n')
    .join('');
}

function ownerOf(engine: Engine, id: string): string {
  try {
    const uid = statSync(engine.dir(id)).uid;
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return line ? line.split(':')[0] : `#${uid}`;
  } catch {
    return '';
  }
}

export function registerState(program: Command): void {
  program
    .command('state')
    .description('output the state of a container (runtime-spec JSON)')
    .argument('<container-id>')
    .action(async (id: string, _f: unknown, cmd: Command) => {
      const st = await (await engineFor(cmd)).state(id);
      out(`${JSON.stringify(ociState(st), null, 2)}\n`);
    });

  formatOption(program.command('list').description('list containers under --root'))
    .option('-q, --quiet', 'display only container IDs')
    .action(async (flags: { format: string; quiet?: boolean }, cmd: Command) => {
      const engine = await engineFor(cmd);
      const ids = await engine.list();
      if (flags.quiet) {
        out(ids.map((id) => `${id}\n`).join(''));
        return;
      }
      const states: Array<Record<string, unknown>> = [];
      for (const id of ids) {
        // A container deleted meanwhile is simply not listed.
        const st = await engine.state(id).catch(() => null);
        if (st) states.push(ociState(st, ownerOf(engine, id)));
      }
      if (flags.format === 'json') {
        out(`${JSON.stringify(states)}\n`);
        return;
      }
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
      for (const s of states) rows.push([s.id, s.pid, s.status, s.bundle, s.created, s.owner].map(String));
      out(table(rows));
    });

  formatOption(program.command('ps').description('display the processes running inside a container'))
    .argument('<container-id>')
    .argument('[ps-options...]', 'options for ps(1) in table format (default -ef)')
    .passThroughOptions()
    .action(async (id: string, psArgs: string[], flags: { format: string }, cmd: Command) => {
      const pids = await (await engineFor(cmd)).pids(id);
      if (flags.format === 'json') {
        out(`${JSON.stringify(pids)}\n`);
        return;
      }
      // As runc: the host's ps, filtered to the container's pids.
      const { hostPs } = await import('../../runtime/host-ps.js');
      const ps = await hostPs(psArgs, pids);
      if (!ps) throw new TsrunError('INVALID_ARGUMENT', `couldn't find PID field in ps output`);
      out([ps.header, ...ps.lines].map((l) => `${l}\n`).join(''));
    });

  program
    .command('features')
    .description('show the enabled features (runtime-spec features JSON)')
    .action(async () => {
      const { features } = await import('../../runtime/oci-features.js');
      out(`${JSON.stringify(features({ version: VERSION, commit: gitCommit() }), null, 4)}\n`);
    });
}
