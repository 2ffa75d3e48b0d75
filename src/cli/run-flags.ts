// run/create's --cidfile, --stop-signal, --stop-timeout, --expose and
// -a/--attach, and run's --sig-proxy and --detach-keys: declared here,
// checked (Docker's messages) before anything is pulled or created.
import type { Command } from 'commander';
import type { CreateRequest } from '../runtime/containers.js';
import { collect } from './options.js';
import { writeFd } from './write.js';

export interface RunConfigFlags {
  cidfile?: string;
  stopSignal?: string;
  stopTimeout?: string;
  expose?: string[];
  attach?: string[];
  /** run's -d. */
  detach?: boolean;
  /** run's --sig-proxy: a Go bool flag (true, or --sig-proxy=false). */
  sigProxy?: boolean | string;
  /** run's --detach-keys. */
  detachKeys?: string;
}

export function addRunConfigOptions(cmd: Command): Command {
  return cmd
    .option('--cidfile <file>', 'write the container id to this file (refused if it exists)')
    .option('--stop-signal <signal>', "signal `stop` sends first (default: the image's StopSignal, else SIGTERM)")
    .option('--stop-timeout <seconds>', 'seconds `stop` waits before killing (default 10; -1: for ever)')
    .option('--expose <port[/proto]|range>', 'expose a port or a range of ports (published by -P) (repeatable)', collect)
    .option('-a, --attach <stream>', 'attach to stdin, stdout or stderr (repeatable; default stdout and stderr)', collect);
}

/** run's own: signals and the detach keys of an attached run. */
export function addAttachedRunOptions(cmd: Command): Command {
  return cmd
    .option('--sig-proxy [bool]', 'forward the signals tsrun receives to the container (default true; --sig-proxy=false to not)')
    .option('--detach-keys <keys>', 'the key sequence that detaches from the container (default ctrl-p,ctrl-q)');
}

const BOOL_WORD = /^(?:true|false|t|f|1|0)$/i;

/**
 * Docker's bool flags take `--flag=false`, so they are declared with an
 * optional value, and commander then takes the next word as that value:
 * `--sig-proxy alpine sh` reads as sigProxy=alpine. Such a word goes back
 * in front of the arguments, and the flag is plain true. A value given
 * with `=` (as `argv` shows) stays, for the flag's parser to refuse.
 */
export function takeBackBoolWords(flags: Record<string, unknown>, keys: Record<string, string>, args: string[], argv: string[] = process.argv): string[] {
  const words: string[] = [];
  for (const [key, flag] of Object.entries(keys)) {
    const v = flags[key];
    if (typeof v === 'string' && !BOOL_WORD.test(v.trim()) && !argv.includes(`${flag}=${v}`)) {
      words.push(v);
      flags[key] = true;
    }
  }
  return [...words, ...args];
}

function invalid(message: string): Error {
  // TsrunError without loading errors.js up front (a cold import the verbs without these flags skip).
  return new InvalidFlag(message);
}

class InvalidFlag extends Error {}

/** `--expose 80`, `80/udp`, `8000-8010/tcp` → ExposedPorts keys, one per port. */
export function parseExpose(value: string): string[] {
  const v = value.trim();
  const slash = v.lastIndexOf('/');
  const ports = slash < 0 ? v : v.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : v.slice(slash + 1).toLowerCase();
  const bad = (why: string) => invalid(`invalid range format for --expose: ${value}, error: ${why}`);
  if (proto !== 'tcp' && proto !== 'udp') throw bad(`protocol ${JSON.stringify(proto)} is not supported (tcp or udp)`);
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
  if (!m) throw bad(`${JSON.stringify(ports)} is not a port or a range of ports (PORT or START-END)`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 1 || end > 65535) throw bad('ports go from 1 to 65535');
  if (end < start) throw bad(`invalid range specified for ${ports}: the end is before the start`);
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

const STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/** Config.AttachStdin/Stdout/Stderr: -a's streams (stdout and stderr without -a), stdin with -i too; none with -d. */
export function parseAttach(flags: RunConfigFlags & { interactive?: boolean }): { stdin: boolean; stdout: boolean; stderr: boolean } {
  const given = new Set<string>();
  for (const a of flags.attach ?? []) {
    const s = a.trim().toLowerCase();
    if (!(STREAMS as readonly string[]).includes(s)) throw invalid(`invalid argument ${JSON.stringify(a)} for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
    given.add(s);
  }
  if (flags.detach) {
    if (given.size) throw invalid('conflicting options: cannot specify both --attach and --detach');
    return { stdin: false, stdout: false, stderr: false };
  }
  return { stdin: given.has('stdin') || !!flags.interactive, stdout: given.size === 0 || given.has('stdout'), stderr: given.size === 0 || given.has('stderr') };
}

function parseStopTimeout(value: string): number {
  const v = value.trim();
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw invalid(`invalid argument ${JSON.stringify(value)} for "--stop-timeout" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  return Math.max(-1, Number(v));
}

/** A Go bool flag's value (after takeBackBoolWords): absent → `dflt`. */
function boolValue(v: boolean | string | undefined, flag: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (/^(?:true|t|1)$/i.test(v.trim())) return true;
  if (/^(?:false|f|0)$/i.test(v.trim())) return false;
  throw invalid(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** The CreateRequest fields of these flags; throws INVALID_ARGUMENT (one line) on bad input, before anything is created. */
export async function runConfigRequest(flags: RunConfigFlags & { interactive?: boolean }): Promise<Pick<CreateRequest, 'runConfig' | 'expose' | 'onWarning'>> {
  try {
    let stopSignal: string | undefined;
    if (flags.stopSignal !== undefined) {
      const { parseSignal } = await import('../runtime/signals.js');
      parseSignal(flags.stopSignal);
      stopSignal = flags.stopSignal;
    }
    const stopTimeout = flags.stopTimeout === undefined ? undefined : parseStopTimeout(flags.stopTimeout);
    const expose = (flags.expose ?? []).flatMap(parseExpose);
    const attach = parseAttach(flags);
    boolValue(flags.sigProxy, '--sig-proxy', true);
    if (flags.detachKeys !== undefined) (await import('../runtime/detach-keys.js')).parseDetachKeys(flags.detachKeys);
    if (flags.cidfile !== undefined && flags.cidfile.trim() === '') throw invalid('invalid --cidfile: the file name is empty');
    return {
      runConfig: { stopSignal, stopTimeout, attach, cidfile: flags.cidfile },
      ...(expose.length ? { expose } : {}),
      // Docker's client prints the daemon's warnings so, on stderr.
      onWarning: (message) => writeFd(2, `WARNING: ${message}\n`),
    };
  } catch (err) {
    if (!(err instanceof InvalidFlag)) throw err;
    const { TsrunError } = await import('../errors.js');
    throw new TsrunError('INVALID_ARGUMENT', err.message);
  }
}

/** run's --sig-proxy (default true) and --detach-keys (default ctrl-p,ctrl-q), as bytes. */
export async function attachedRunOptions(flags: RunConfigFlags): Promise<{ sigProxy: boolean; detachKeys: Buffer }> {
  const { DEFAULT_DETACH_KEYS, parseDetachKeys } = await import('../runtime/detach-keys.js');
  return { sigProxy: boolValue(flags.sigProxy, '--sig-proxy', true), detachKeys: parseDetachKeys(flags.detachKeys ?? DEFAULT_DETACH_KEYS) };
}

export interface CidFile {
  write(id: string): void;
  /** Removes the file (a create that failed). */
  remove(): void;
}

/** --cidfile: made now, exclusively, as Docker does before it creates the container; refused when it exists. */
export async function createCidfile(path: string): Promise<CidFile> {
  const { closeSync, openSync, unlinkSync, writeSync } = await import('node:fs');
  const { TsrunError } = await import('../errors.js');
  let fd: number | null;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TsrunError('INVALID_ARGUMENT', `Container ID file found, make sure the other container isn't running or delete ${path}`);
    }
    throw new TsrunError('INVALID_ARGUMENT', `failed to create the container ID file: ${(err as Error).message}`, { cause: err });
  }
  const close = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return {
    write(id) {
      if (fd !== null) writeSync(fd, id);
      close();
    },
    remove() {
      close();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
