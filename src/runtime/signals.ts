// Signal names and numbers as users type them: KILL, SIGKILL, 9, sigterm.
import { constants } from 'node:os';
import { TsrunError } from '../errors.js';


/** Returns the signal number, or throws a clear error. */
export function parseSignal(value: string): number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
    const byName = constants.signals as Record<string, number>;
    if (Object.hasOwn(byName, name)) return byName[name]!;
  }
  throw new TsrunError('INVALID_ARGUMENT', `invalid signal: ${value}`);
}
