// Runs a critical section under an exclusive flock on a lock file. The lock
// goes away with the fd, so a CLI killed inside the section frees it.
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';

export type Locker = <T>(lockPath: string, fn: () => Promise<T>) => Promise<T>;

export function fileLocker(native: Pick<NativeBinding, 'flock'>, timeoutMs = 30_000): Locker {
  return async (lockPath, fn) => {
    // open and close are synchronous: a few µs each, where a thread-pool
    // round trip costs more than the whole section of a short verb.
    const fd = openSync(lockPath, 'a', 0o600);
    try {
      // Non-blocking tries: a blocking flock would stall Node's event loop.
      for (let waited = 0; !native.flock(fd, true); waited += 2) {
        if (waited >= timeoutMs) throw new TsrunError('INVALID_STATE', `timed out waiting for the lock ${lockPath}`);
        await sleep(2);
      }
      return await fn();
    } finally {
      closeSync(fd);
    }
  };
}
