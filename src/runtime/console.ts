// Relays a container's pty master to the caller's terminal (or pipes):
// output to `output`, optional input from `input`, window size changes to
// the pty. Ends when the container side closes (read returns EIO).
import tty from 'node:tty';
import type { NativeBinding } from '../native/binding.js';

export interface TerminalRelay {
  /** Resolves once all container output has been written. */
  done: Promise<void>;
  resize(rows: number, cols: number): void;
  close(): void;
}

export function relayTerminal(
  native: NativeBinding,
  master: number,
  io: { input?: NodeJS.ReadableStream; output: NodeJS.WritableStream },
): TerminalRelay {
  const pty = new tty.ReadStream(master);
  const done = new Promise<void>((resolve) => {
    // EIO is how a pty master reports that every slave fd is closed.
    pty.on('error', () => resolve());
    pty.on('end', () => resolve());
    pty.on('close', () => resolve());
  });
  pty.pipe(io.output as NodeJS.WritableStream, { end: false });
  if (io.input) io.input.pipe(pty);
  return {
    done,
    resize: (rows, cols) => {
      try {
        native.setWinsize(master, rows, cols);
      } catch {
        // The container may be gone already.
      }
    },
    close: () => {
      if (io.input) io.input.unpipe(pty);
      pty.destroy();
    },
  };
}
