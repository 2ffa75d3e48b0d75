// Turns a native set-up failure into a core error a user can act on.
// Exec failures keep Docker's wording and decide the 126/127 exit codes.
import { NativeSystemError, TsrunError } from '../errors.js';
import { hookErrorText } from './hooks.js';
import { idmapError } from './native-userns.js';

export function setupError(err: unknown, args: string[]): unknown {
  if (!(err instanceof NativeSystemError)) return err;
  if (err.step === 'exec') {
    const cmd = args[0];
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      const what = cmd.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH';
      return new TsrunError('COMMAND_NOT_FOUND', `exec: "${cmd}": ${what}`, { cause: err });
    }
    const what = err.code === 'EACCES' ? 'permission denied' : err.message.replace(/^.*: /, '').toLowerCase();
    return new TsrunError('COMMAND_NOT_EXECUTABLE', `exec: "${cmd}": ${what}`, { cause: err });
  }
  if (err.step === 'idmap') return idmapError(err);
  if (err.step === 'hooks') {
    return new TsrunError('CONTAINER_SETUP_FAILED', `error running ${err.syscall} hook: ${hookErrorText(err)}`, { cause: err });
  }
  return new TsrunError('CONTAINER_SETUP_FAILED', `container set-up failed at step "${err.step}": ${err.message}`, { cause: err });
}
