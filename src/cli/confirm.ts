// Docker's and Podman's "Are you sure you want to continue? [y/N]". Only a
// terminal can answer: without one (CI, a pipe that may never close) the
// answer is no, and the caller says how to go on (-f).
import { readSync } from 'node:fs';
import { out } from './write.js';

export async function confirm(message: string): Promise<boolean> {
  out(`${message} [y/N] `);
  const { isatty } = await import('node:tty');
  if (!isatty(0)) {
    out('\n');
    return false;
  }
  const buf = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0 || buf[0] === 0x0a) break;
    line += String.fromCharCode(buf[0]);
  }
  return /^\s*y(es)?\s*$/i.test(line);
}
