// The one place that turns an error into a message and an exit code.
// Docker's codes: 125 tsrun itself failed, 126 the command could not be
// invoked, 127 it was not found.
import { NativeSystemError, TsrunError } from '../errors.js';

export function exitCodeFor(err: unknown): number {
  if (err instanceof TsrunError) {
    if (err.code === 'COMMAND_NOT_FOUND') return 127;
    if (err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  }
  return 125;
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
export function reportError(err: unknown): number {
  const line = messageFor(err).split('\n')[0];
  process.stderr.write(`tsrun: ${line}\n`);
  if (process.env.TSRUN_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return exitCodeFor(err);
}
