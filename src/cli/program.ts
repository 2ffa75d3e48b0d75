// tsrun's command line: the global options and every verb's. Declaring a
// verb's flags costs time every run pays, so a run declares only the verb it
// names (--version none, `help X` only X). The verb list that --help and an
// unknown verb print comes from the summary the bundle carries (built from
// the full program by scripts/bundle.mjs); without it every verb is declared.
import { Help, type Command } from 'commander';
import { FastCommand } from './fast-command.js';
import { registerAttach } from './commands/attach.js';
import { registerBuild } from './commands/build.js';
import { registerBuilder } from './commands/builder.js';
import { registerCheck } from './commands/check.js';
import { registerCommit } from './commands/commit.js';
import { registerCp } from './commands/cp.js';
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
import { registerUpdate } from './commands/update.js';
import { registerVolume } from './commands/volume.js';
import { registerNetwork } from './commands/network.js';
import { registerPort } from './commands/port.js';
import { registerInfo } from './commands/info.js';
import { registerVersion } from './commands/version.js';
import { registerSystem } from './commands/system.js';
import { registerHealthcheck } from './commands/healthcheck.js';
import { registerEvents } from './commands/events.js';
import { collect } from './options.js';
import { commanderOutput } from './write.js';

type Register = (program: Command) => void;

/** Each top-level verb as the root help lists it: name, term (`run [options] [image-and-command...]`), description. */
export type VerbSummary = [name: string, term: string, description: string][];

declare const __TSRUN_VERB_SUMMARY__: VerbSummary | undefined;
const bundledSummary = typeof __TSRUN_VERB_SUMMARY__ === 'undefined' ? undefined : __TSRUN_VERB_SUMMARY__;

/** The top-level verbs (and groups) each register function declares. */
export const VERBS: [names: string[], register: Register][] = [
  [['run'], registerRun], [['create'], registerCreate], [['start'], registerStart], [['attach'], registerAttach], [['ps'], registerPs],
  [['stop', 'kill', 'restart', 'rm', 'wait', 'pause', 'unpause', 'rename', 'container'], registerLifecycle],
  [['logs'], registerLogs], [['exec'], registerExec], [['inspect'], registerInspect], [['top'], registerTop], [['stats'], registerStats], [['update'], registerUpdate],
  [['check'], registerCheck], [['pull'], registerPull], [['push'], registerPush], [['images'], registerImages], [['image'], registerImage],
  [['rmi'], registerRmi], [['tag'], registerTag], [['history'], registerHistory], [['login', 'logout'], registerLogin],
  [['save'], registerSave], [['load'], registerLoad], [['import'], registerImport], [['export'], registerExport], [['commit'], registerCommit],
  [['diff'], registerDiff], [['volume'], registerVolume], [['network'], registerNetwork], [['port'], registerPort],
  [['build'], registerBuild], [['builder'], registerBuilder],
  [['cp'], registerCp],
  [['healthcheck'], registerHealthcheck],
  [['info'], registerInfo], [['version'], registerVersion], [['system'], registerSystem], [['events'], registerEvents],
];

/** The program for `argv` (process.argv's shape): every verb, or only the one argv names. */
export function buildProgram(argv: string[], summary: VerbSummary | undefined = bundledSummary): Command {
  const program = new FastCommand('tsrun')
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
    .configureOutput(commanderOutput);
  const args = argv.slice(2);
  const verb = verbOf(program, args);
  // `help X` is X's own --help.
  const named = verb === 'help' ? args[args.indexOf('help') + 1] : verb;
  const only = VERBS.find(([names]) => names.includes(named ?? ''));
  // --version alone needs no verb declared; --help, `help` and an unknown verb list them all.
  const versionOnly = verb === undefined && args.some((a) => a === '-v' || a === '--version') && !args.some((a) => a === '-h' || a === '--help');
  if (only) {
    only[1](program);
    // bin/launch.cjs keeps the shell's code cache per verb once the shell
    // names it: here already, so a usage error of a real verb counts too
    // (the preAction hook in tsrun.ts names the whole verb, `network ls`).
    (globalThis as Record<symbol, unknown>)[Symbol.for('tsrun.verb')] = named;
  }
  else if (!versionOnly && summary) listVerbs(program, summary);
  else if (!versionOnly) for (const [, register] of VERBS) register(program);
  // The root help (--help, `help`) has a code cache of its own too; an unknown verb none.
  if (!only && !versionOnly && (verb === 'help' || (verb === undefined && args.some((a) => a === '-h' || a === '--help')))) {
    (globalThis as Record<symbol, unknown>)[Symbol.for('tsrun.verb')] = 'help';
  }
  const exitOverrideAll = (cmd: Command): void => {
    for (const c of cmd.commands) {
      c.exitOverride();
      exitOverrideAll(c);
    }
  };
  exitOverrideAll(program);
  return program;
}

/** The root help's verb list, from a summary: each verb a bare command with its term and description. */
function listVerbs(program: Command, summary: VerbSummary): void {
  const terms = new Map(summary.map(([name, term]) => [name, term]));
  for (const [name, , description] of summary) program.command(name).description(description);
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command) {
      return terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(this, cmd);
    },
  });
}

/** What the root help lists of `program`, every verb declared (scripts/bundle.mjs builds it into the bundle). */
export function verbSummary(program: Command): VerbSummary {
  const help: Help = program.createHelp();
  return program.commands.map((cmd) => [cmd.name(), help.subcommandTerm(cmd), help.subcommandDescription(cmd)]);
}

/** The first argument that is neither a global option nor its value. */
function verbOf(program: Command, args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-') || a === '-') return a;
    const opt = program.options.find((o) => o.long === a || o.short === a);
    if (opt && (opt.required || opt.optional)) i++;
  }
  return undefined;
}
