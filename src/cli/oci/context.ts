// What every tsrun-oci verb shares: the global options, the engine over
// --root, output written straight to fds 1 and 2, and the runc-style log.
//
// Output never goes through process.stdout/stderr: Node makes a pipe behind
// those non-blocking, and after `create` the same pipe is the container's
// stdout (conmon hands the runtime the container's pipes), so plain
// synchronous writes to the fd are used instead.
import { appendFileSync } from 'node:fs';
import { writeFd } from '../write.js';
import type { Command } from 'commander';
import type { Engine } from '../../runtime/engine.js';

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug?: boolean;
  systemdCgroup?: boolean;
}

export const DEFAULT_ROOT = '/run/tsrun-oci';

export function globals(cmd: Command): GlobalOptions {
  let top = cmd;
  while (top.parent) top = top.parent;
  return top.opts() as GlobalOptions;
}

export async function engineFor(cmd: Command): Promise<Engine> {
  const [{ Engine }, { native }] = await Promise.all([import('../../runtime/engine.js'), import('../../native/binding.js')]);
  return new Engine({ native, stateDir: globals(cmd).root });
}

/**
 * The engine, after checking that `id` exists: the engine's lock sits in
 * the container's directory, so a missing container must be reported
 * before any lock is taken ("does not exist" is what engines look for).
 */
export async function engineWith(cmd: Command, id: string): Promise<Engine> {
  const engine = await engineFor(cmd);
  await engine.load(id);
  return engine;
}

export { out, writeFd } from '../write.js';

export type Level = 'error' | 'warning' | 'info' | 'debug';

// RFC 3339 in UTC, whole seconds, as logrus prints it.
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One log line in runc's (logrus) text or JSON format. */
export function formatLog(format: 'text' | 'json', level: Level, msg: string, time = now()): string {
  if (format === 'json') return `${JSON.stringify({ level, msg, time })}\n`;
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

let quietStderr = false;

/**
 * While a verb's stderr is also its container's stderr (create, run), only
 * errors may go there: conmon reports the runtime's stderr when it fails,
 * and anything else would land in the container's log.
 */
export function stderrIsContainers(): void {
  quietStderr = true;
}

/**
 * runc's logging: lines go to --log in --log-format; without --log to
 * stderr. An error always reaches stderr too (engines read it: podman looks
 * for "does not exist" in a failed `state`).
 */
export function log(opts: Partial<GlobalOptions>, level: Level, msg: string): void {
  if (level === 'debug' && !opts.debug) return;
  const format = opts.logFormat === 'json' ? 'json' : 'text';
  const line = formatLog(format, level, msg);
  if (opts.log) {
    try {
      appendFileSync(opts.log, line, { mode: 0o644 });
    } catch (err) {
      writeFd(2, `tsrun-oci: cannot write to --log ${opts.log}: ${(err as Error).message}\n`);
    }
    if (level === 'error') writeFd(2, `${msg}\n`);
    return;
  }
  if (level === 'error' || !quietStderr) writeFd(2, line);
}
