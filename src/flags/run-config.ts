// run/create's --cidfile, --stop-signal, --stop-timeout, --expose, -a/--attach and run's --sig-proxy/--detach-keys, checked (Docker's messages) for both fronts (declared in cli/run-flags.ts).
import type { CreateRequest } from '../runtime/containers.js';

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

/** A Go bool flag's value (after the CLI's takeBackBoolWords): absent → `dflt`. */
function boolValue(v: boolean | string | undefined, flag: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (/^(?:true|t|1)$/i.test(v.trim())) return true;
  if (/^(?:false|f|0)$/i.test(v.trim())) return false;
  throw invalid(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/**
 * The CreateRequest fields of these flags; throws INVALID_ARGUMENT (one line)
 * on bad input, before anything is created. Docker's warnings are the
 * caller's to hear (containerRequest's ctx.onWarning).
 */
export async function runConfigRequest(flags: RunConfigFlags & { interactive?: boolean }): Promise<Pick<CreateRequest, 'runConfig' | 'expose'>> {
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
