// Client side of the monitor's attach socket (frame layout in
// native/src/monitor_protocol.h): output frames in, stdin/resize frames out,
// and one exit frame carrying the container's exit code.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { nodeChildProcess } from '../util/lazy-builtins.js';
import { detachScanner } from './detach-keys.js';

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
  /** True once the caller let go and left the container running (the detach keys, handOff). */
  readonly leftRunning: boolean;
  /**
   * Lets go without closing the connection: a small process (`cat`) holds
   * it, reading and dropping the output, until the container exits, then
   * runs `after` (e.g. `tsrun rm -f ID` for --rm). The monitor kills a
   * container whose owner's connection closes; this is how an owner
   * (`run -it`) detaches and leaves it running.
   */
  handOff(after?: string[]): void;
}

export interface RelayOptions {
  /** Input bytes that detach (Docker's --detach-keys, see parseDetachKeys); absent: none. */
  detachKeys?: Buffer;
  /** Called once the detach keys are typed (the input stops first); default: detach(). */
  onDetachKeys?: (a: Attachment) => void;
  /** The end of the input closes the container's stdin (default); false: it stays open for the next client (Docker without StdinOnce). */
  closeStdinAtEnd?: boolean;
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

/** Sets the container's terminal size through its monitor (a container without a terminal ignores it). */
export async function resizeTerminal(stateDir: string, rows: number, cols: number): Promise<void> {
  const sock = await connectAttach(stateDir);
  const b = Buffer.alloc(4);
  b.writeUInt16BE(rows, 0);
  b.writeUInt16BE(cols, 2);
  await new Promise<void>((resolve) => {
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
    // Sent, then closed: the monitor reads the frame before the end.
    sock.end(frame(Frame.Resize, b));
    // Output the monitor broadcasts meanwhile is dropped.
    sock.resume();
  });
}

/** Relays a connected attach socket to the given streams. */
export function relayAttach(sock: Socket, io: AttachStreams, opts: RelayOptions = {}): Attachment {
  let buf: Buffer = Buffer.alloc(0);
  let code: number | null = null;
  let leftRunning = false;
  const scan = opts.detachKeys?.length ? detachScanner(opts.detachKeys) : undefined;
  const onInput = (chunk: Buffer): void => {
    const data = scan ? scan(chunk) : chunk;
    if (data === null) {
      leftRunning = true;
      stopInput();
      (opts.onDetachKeys ?? ((a) => a.detach()))(attachment);
      return;
    }
    if (data.length) sock.write(frame(Frame.Stdin, data));
  };
  const onInputEnd = (): void => void (opts.closeStdinAtEnd !== false && sock.write(frame(Frame.StdinEof)));
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
  const attachment: Attachment = {
    exited,
    get leftRunning() {
      return leftRunning;
    },
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
    handOff(after) {
      leftRunning = true;
      stopInput();
      // Our reads stop before the holder shares the socket: libuv makes a
      // child's stdin blocking, and a blocking read here would hang us.
      sock.pause();
      const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd === 'number' && fd >= 0) {
        const script = 'cat >/dev/null 2>&1; [ "$#" -eq 0 ] || exec "$@" >/dev/null 2>&1';
        nodeChildProcess().spawn('/bin/sh', ['-c', script, 'sh', ...(after ?? [])], { stdio: [fd, 'ignore', 'ignore'], detached: true }).unref();
      }
      sock.destroy();
    },
  };
  return attachment;
}
