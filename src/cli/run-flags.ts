// run/create's --cidfile, --stop-signal, --stop-timeout, --expose and
// -a/--attach, and run's --sig-proxy and --detach-keys: declared here for
// commander (flags/run-config.ts checks them); the bool words commander
// takes from argv given back; --cidfile made in the CLI's directory.
import type { Command } from 'commander';
import { collect } from './options.js';

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
