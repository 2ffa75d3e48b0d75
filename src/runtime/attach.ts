// Client side of the monitor's attach socket (frame layout in
// native/src/monitor_protocol.h): output frames in, stdin/resize frames out,
// and one exit frame carrying the container's exit code.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const enum Frame {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  Exit = 3,
  Resize = 4,
  StdinEof = 5,
}

export interface AttachStreams {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface Attachment {
  /** Resolves with the exit code when the container exits, or null when the connection ends first (detached, monitor gone). */
  exited: Promise<number | null>;
  resize(rows: number, cols: number): void;
  /** Stops relaying; the container goes on. */
  detach(): void;
}

/**
 * Connects to the attach socket in the container's state directory. Unix
 * socket paths are limited to 108 bytes, so the path goes through a
 * directory fd: /proc/self/fd/N/attach is always short.
 */
export async function connectAttach(stateDir: string): Promise<Socket> {
  const dirFd = openSync(stateDir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    return await new Promise<Socket>((resolve, reject) => {
      const sock = connect(join(`/proc/self/fd/${dirFd}`, 'attach'));
      sock.once('connect', () => resolve(sock));
      sock.once('error', reject);
    });
  } finally {
    closeSync(dirFd);
  }
}

function frame(type: Frame, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

/** Relays a connected attach socket to the given streams. */
export function relayAttach(sock: Socket, io: AttachStreams): Attachment {
  let buf: Buffer = Buffer.alloc(0);
  let code: number | null = null;
  const onInput = (chunk: Buffer): void => void sock.write(frame(Frame.Stdin, chunk));
  const onInputEnd = (): void => void sock.write(frame(Frame.StdinEof));
  const stopInput = (): void => {
    io.stdin?.off('data', onInput);
    io.stdin?.off('end', onInputEnd);
    io.stdin?.pause();
  };
  const exited = new Promise<number | null>((resolve) => {
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        const type = buf[0] as Frame;
        const body = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if (type === Frame.Stdout) io.stdout.write(body);
        else if (type === Frame.Stderr) io.stderr.write(body);
        else if (type === Frame.Exit && len === 4) code = body.readUInt32BE(0);
      }
    });
    sock.on('close', () => {
      stopInput();
      resolve(code);
    });
    sock.on('error', () => {});
  });
  if (io.stdin) {
    io.stdin.on('data', onInput);
    io.stdin.on('end', onInputEnd);
  }
  return {
    exited,
    resize(rows, cols) {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(rows, 0);
      b.writeUInt16BE(cols, 2);
      sock.write(frame(Frame.Resize, b));
    },
    detach() {
      stopInput();
      sock.destroy();
    },
  };
}
