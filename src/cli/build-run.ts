// `tsrun build`'s flags → BuildOptions, the run, and what it prints.
import { writeFile } from 'node:fs/promises';
import { TsrunError } from '../errors.js';
import type { Tsrun } from '../tsrun.js';
import { buildReporter } from './build-progress.js';
import type { BuildFlags } from './commands/build.js';
import { out } from './write.js';

function bad(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

/** --build-arg K=V, or a bare K taking the caller's environment (skipped when unset, as Docker does). */
export function buildArgs(values: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw bad(`invalid build arg ${JSON.stringify(v)}: the name is empty`);
    if (eq > 0) out[v.slice(0, eq)] = v.slice(eq + 1);
    else if (env[v] !== undefined) out[v] = env[v]!;
  }
  return out;
}

/** --secret id=ID,src=FILE (also source=, and type=file). */
export function secrets(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const kv = Object.fromEntries(v.split(',').map((p) => [p.slice(0, p.indexOf('=') >>> 0), p.slice(p.indexOf('=') + 1)]));
    const id = kv.id;
    const src = kv.src ?? kv.source;
    if (!id || !src) throw bad(`invalid --secret ${JSON.stringify(v)}: use id=ID,src=FILE`);
    if (kv.type && kv.type !== 'file') throw bad(`invalid --secret ${JSON.stringify(v)}: only type=file is supported`);
    out[id] = src;
  }
  return out;
}

export async function buildFromCli(tsrun: Tsrun, context: string, flags: BuildFlags): Promise<void> {
  const { Builder } = await import('../build/builder.js');
  const { prepareContext } = await import('../build/context.js');
  const { BuildWorkspace } = await import('../build/workspace.js');
  const { parsePlatform } = await import('../image/platform.js');
  const { parseReference } = await import('../image/reference.js');
  const pull = flags.pull === undefined ? 'missing' : flags.pull === true ? 'always' : String(flags.pull);
  if (!['always', 'missing', 'never', 'true', 'false'].includes(pull)) throw bad(`invalid --pull ${JSON.stringify(pull)}: use always, missing or never`);
  const network = flags.network ?? 'default';
  if (!['default', 'none', 'host'].includes(network)) throw bad(`invalid --network ${JSON.stringify(network)}: use default, none or host`);
  const progress = flags.progress ?? 'auto';
  if (!['auto', 'plain', 'tty', 'quiet'].includes(progress)) throw bad(`invalid --progress ${JSON.stringify(progress)}: use auto, plain or tty`);
  for (const t of flags.tag ?? []) parseReference(t);
  const labels = Object.fromEntries((flags.label ?? []).map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
  const ws = await BuildWorkspace.open(tsrun);
  try {
    const ctx = await prepareContext({ context, file: flags.file, stdin: process.stdin, workDir: ws.dir, native: tsrun.native });
    const builder = new Builder(tsrun, {
      workspace: ws,
      contextDir: ctx.dir,
      dockerfile: ctx.dockerfile,
      dockerfileName: ctx.dockerfileName,
      ignore: ctx.ignore,
      tags: flags.tag,
      buildArgs: buildArgs(flags.buildArg ?? [], process.env),
      target: flags.target,
      noCache: flags.cache === false,
      pull: pull === 'true' ? 'always' : pull === 'false' ? 'missing' : (pull as 'always' | 'missing' | 'never'),
      platform: flags.platform ? parsePlatform(flags.platform) : undefined,
      labels,
      network: network as 'default' | 'none' | 'host',
      secrets: secrets(flags.secret ?? []),
      onEvent: buildReporter(process.stderr, flags.quiet ? 'quiet' : (progress as 'auto' | 'plain' | 'tty')),
    });
    const { id } = await builder.build();
    if (flags.iidfile) await writeFile(flags.iidfile, id);
    if (flags.quiet) out(`${id}\n`);
  } finally {
    await ws.close();
  }
}
