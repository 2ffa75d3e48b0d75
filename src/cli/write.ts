// Output of both CLIs, written straight to the file descriptor: touching
// process.stdout or process.stderr loads Node's stream modules, several ms
// that a short verb (--version, a usage error, inspect) otherwise never pays.
// Like Node's own stdio on Linux, the writes are synchronous, so they keep
// their order with any that still go through process.stdout.
import { fstatSync, writeSync } from 'node:fs';
import type { OutputConfiguration } from 'commander';

/** Writes all of `text` to fd, waiting out EAGAIN on a non-blocking pipe; false when the reader has gone (EPIPE). */
export function writeFd(fd: number, text: string): boolean {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') return false;
      throw err;
    }
  }
  return true;
}

export function out(text: string): void {
  writeFd(1, text);
}

// Linux's terminal devices: the console and ttys (4), /dev/tty and ptmx (5),
// pseudo-terminals (136-143). node:tty's isatty would load net and stream.
function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    const major = Math.floor(st.rdev / 256) & 0xfff;
    return st.isCharacterDevice() && (major === 4 || major === 5 || (major >= 136 && major <= 143));
  } catch {
    return false;
  }
}

/** commander's output through writeFd; a terminal's width and colours are asked only of a terminal. */
export const commanderOutput: OutputConfiguration = {
  writeOut: out,
  writeErr: (s) => writeFd(2, s),
  getOutHelpWidth: () => (isTerminal(1) ? process.stdout.columns : 80),
  getErrHelpWidth: () => (isTerminal(2) ? process.stderr.columns : 80),
  getOutHasColors: () => isTerminal(1) && !!process.stdout.hasColors?.(),
  getErrHasColors: () => isTerminal(2) && !!process.stderr.hasColors?.(),
};
