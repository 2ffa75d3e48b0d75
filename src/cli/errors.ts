// The one place that turns an error into a message and an exit code.
// Docker's codes: 125 when `run`/`create` itself fails, 126 when the
// command cannot be invoked, 127 when it is not found; the other verbs
// exit 1 on an error, as the docker CLI does for daemon errors.
import { NativeSystemError, TsrunError } from '../errors.js';
import { writeFd } from './write.js';

export function exitCodeFor(err: unknown, fallback = 125): number {
  if (err instanceof TsrunError) {
    if (err.code === 'COMMAND_NOT_FOUND') return 127;
    if (err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  }
  return fallback;
}

export function messageFor(err: unknown): string {
  if (err instanceof TsrunError || err instanceof NativeSystemError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    // Node's own errors (EACCES on --root, ...) already say what and where.
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Prints one line to stderr and returns the exit code. */
export function reportError(err: unknown, fallback = 125): number {
  const line = messageFor(err).split('\n')[0];
  writeFd(2, `tsrun: ${line}\n`);
  if (process.env.TSRUN_DEBUG && err instanceof Error) writeFd(2, `${err.stack}\n`);
  return exitCodeFor(err, fallback);
}
