// One Docker attach: a hijacked client connection relayed to the monitor's
// attach socket (runtime/attach.ts, the same relay `tsrun attach` uses).
// Output goes out in Docker's stdcopy frames without a TTY, raw with one;
// the client's bytes go to the container's stdin and its half-close
// closes that stdin when the container has StdinOnce (an attached run -i),
// as Docker's does. The attach never owns the container: when the client
// goes, the container goes on; when the container exits, the connection
// is closed, and the client learns the exit code from `wait`.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { connectAttach, relayAttach, type Attachment } from '../runtime/attach.js';
import { watchPeer } from './peer-watch.js';
import { streamWriter } from './stream.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Frames (no TTY) or raw bytes (TTY). */
  mux: boolean;
  /** Input bytes that let go of the container (TTY only, as Docker's escape proxy). */
  detachKeys?: Buffer;
  /** The container's StdinOnce: only then does the client's half-close close its stdin. */
  stdinOnce: boolean;
}

/** A hijacked connection waiting for its container's monitor (before start) or relayed to it. */
export class AttachSession {
  private attachment?: Attachment;
  private closed = false;
  private readonly out: { stdout: Writable; stderr: Writable };
  /** Resolves when the relay is over (container exited, client gone, detached). */
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly conn: Duplex, private readonly opts: AttachOptions) {
    this.out = {
      stdout: opts.stdout ? streamWriter(conn, 1, opts.mux) : sink(),
      stderr: opts.stderr ? streamWriter(conn, 2, opts.mux) : sink(),
    };
    this.done = new Promise((resolve) => (this.finish = resolve));
    watchPeer(conn);
    // A relay never keeps a stopped service alive (its clients see the connection end, as with dockerd).
    (conn as Partial<Socket>).unref?.();
    // The client went away: stop relaying; the container goes on.
    conn.once('close', () => this.end());
    // Without stdin the client's bytes are read and dropped, so its going away is seen.
    if (!opts.stdin) conn.on('data', () => {});
  }

  /** True once the client has gone (or the relay ended). */
  get gone(): boolean {
    return this.closed;
  }

  /** Writes bytes as the container's output would go (a log replay). */
  write(stream: 'stdout' | 'stderr', data: Buffer): Promise<void> {
    const w = stream === 'stderr' ? this.out.stderr : this.out.stdout;
    return new Promise((resolve) => w.write(data, () => resolve()));
  }

  /** Connects to the monitor in the container's instance directory and relays until either side ends. */
  async connect(stateDir: string): Promise<void> {
    if (this.closed) return;
    const sock = await connectAttach(stateDir);
    if (this.closed) return void sock.destroy();
    sock.unref();
    const a = relayAttach(sock, { stdin: this.opts.stdin ? this.conn : undefined, stdout: this.out.stdout, stderr: this.out.stderr }, {
      detachKeys: this.opts.detachKeys,
      onDetachKeys: () => this.end(),
      closeStdinAtEnd: this.opts.stdinOnce,
    });
    this.attachment = a;
    void a.exited.then(() => this.end());
  }

  /** Ends the relay: the output written so far is flushed, then the connection is closed. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.attachment?.detach();
    const { stdout, stderr } = this.out;
    let pending = 2;
    const flushed = (): void => {
      if (--pending > 0) return;
      this.conn.end();
      // A client that never closes its side is let go of.
      setTimeout(() => this.conn.destroy(), 5000).unref();
      this.finish();
    };
    stdout.end(flushed);
    stderr.end(flushed);
  }
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, done) => done() });
}
