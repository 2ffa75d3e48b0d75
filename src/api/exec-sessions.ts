// Docker's exec instances: made by POST /containers/{id}/exec, run by
// POST /exec/{id}/start, inspected until some time after they end. The
// process is started as `tsrun exec` starts it (containers.execProcess +
// containers.exec); the service relays its stdio to the client (socket
// pairs, or the pty with a TTY) and reaps it, so its exit code is known
// before the client's stream ends (the docker CLI inspects it right after).
import { closeSync, openSync } from 'node:fs';
import tty from 'node:tty';
import type { Readable, Writable } from 'node:stream';
import { TsrunError } from '../errors.js';
import { detachScanner, parseDetachKeys, DEFAULT_DETACH_KEYS } from '../runtime/detach-keys.js';
import { newContainerId } from '../runtime/store.js';
import type { ApiContext } from './context.js';
import { ApiError, messageOf } from './errors.js';
import { socketPair, type SocketPair } from './host-socketpair.js';
import { streamWriter } from './stream.js';

/** What POST /containers/{id}/exec asked for. */
export interface ExecConfig {
  containerId: string;
  args: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  privileged: boolean;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
  consoleSize?: { rows: number; cols: number };
}

/** Where a started exec's stdio goes: nowhere (detached), or a client's connection. */
export interface ExecIo {
  /** The client's bytes for stdin (read only with AttachStdin). */
  input: Readable;
  /** The client's side for output. */
  output: Writable;
  /** Docker's stdcopy frames (the start asked for no TTY) or raw bytes. */
  mux: boolean;
  /** Fires when the client has gone. */
  onGone(cb: () => void): void;
  /** The connection is ours alone (hijacked): it is closed after the stream, not kept alive. */
  hijacked: boolean;
}

// Ended instances are kept this long for inspect (Docker forgets them with their container, or on a clean-up).
const KEEP_ENDED_MS = 5 * 60_000;
// An instance nobody starts is forgotten after this.
const KEEP_UNSTARTED_MS = 30 * 60_000;
// After the process exits, its output is awaited this long: a background child may hold the pipes.
const DRAIN_MS = 2000;

export class ExecSession {
  readonly id = newContainerId();
  running = false;
  started = false;
  exitCode: number | null = null;
  pid = 0;
  private ptyMaster: number | null = null;
  /** The terminal size asked for (ConsoleSize, or a resize before the process had its pty). */
  size?: { rows: number; cols: number };
  private expiry?: NodeJS.Timeout;

  constructor(readonly config: ExecConfig, private readonly forget: (s: ExecSession) => void) {
    this.size = config.consoleSize;
    this.expireIn(KEEP_UNSTARTED_MS);
  }

  private expireIn(ms: number): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.forget(this), ms).unref();
  }

  /** Resizes the pty now, or when the process has one (a resize may come before the start has spawned it). */
  resize(ctx: ApiContext, rows: number, cols: number): void {
    this.size = { rows, cols };
    if (this.ptyMaster !== null) ctx.tsrun.native.setWinsize(this.ptyMaster, rows, cols);
  }

  /** Docker's ExecInspect. */
  inspect(): Record<string, unknown> {
    const c = this.config;
    return {
      CanRemove: false,
      ContainerID: c.containerId,
      DetachKeys: c.detachKeys,
      ExitCode: this.exitCode,
      ID: this.id,
      OpenStderr: c.attachStderr,
      OpenStdin: c.attachStdin,
      OpenStdout: c.attachStdout,
      ProcessConfig: { arguments: c.args.slice(1), entrypoint: c.args[0], privileged: c.privileged, tty: c.tty, user: c.user ?? '' },
      Running: this.running,
      Pid: this.pid,
    };
  }

  /** Refuses a second start, as Docker does. */
  checkStartable(): void {
    if (this.exitCode !== null) throw new ApiError(409, `Error: Exec command ${this.id} has already run`);
    if (this.started) throw new ApiError(409, `Error: Exec command ${this.id} is already running`);
  }

  /**
   * Starts the process. Detached (no io): returns once it runs. Attached:
   * relays until it has exited and its output is drained, then ends the
   * client's stream; a start that fails writes its error in the stream and
   * records Docker's exit code (127 not found, 126 otherwise).
   */
  async start(ctx: ApiContext, io?: ExecIo): Promise<void> {
    this.checkStartable();
    this.started = true;
    this.running = true;
    clearTimeout(this.expiry);
    const out = io ? outputs(io) : undefined;
    let gone = false;
    io?.onGone(() => {
      gone = true;
      out?.drop();
    });
    let started: Awaited<ReturnType<typeof spawnExec>>;
    try {
      started = await spawnExec(ctx, this, !!io);
    } catch (err) {
      this.ended(err instanceof TsrunError && err.code === 'COMMAND_NOT_FOUND' ? 127 : 126);
      if (!out) throw err;
      out.write(1, Buffer.from(`${messageOf(err)}\r\n`));
      return out.end();
    }
    this.pid = started.pid;
    this.ptyMaster = started.ptyMaster;
    // A resize that came while the process was being made.
    if (this.size && this.ptyMaster !== null) this.resize(ctx, this.size.rows, this.size.cols);
    const exited = ctx.tsrun.native.waitExit(started.pid).then((st) => st.exitCode ?? 128 + (st.signal ?? 0));
    const relay = io && out ? relayExec(started, io, out, this.config, () => gone) : undefined;
    const finish = async (): Promise<void> => {
      const code = await exited;
      if (relay) await Promise.race([relay.drained, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
      relay?.close();
      this.ptyMaster = null;
      this.ended(code);
      await started.exited(code).catch(() => {});
      await out?.end();
    };
    if (!io) return void finish();
    await finish();
  }

  private ended(code: number): void {
    this.exitCode = code;
    this.running = false;
    this.expireIn(KEEP_ENDED_MS);
  }
}

/** The exec's process, with socket pairs for the attached streams (a TTY: the pty instead). */
async function spawnExec(ctx: ApiContext, s: ExecSession, attached: boolean) {
  const c = ctx.tsrun.containers;
  const cfg = s.config;
  const proc = await c.execProcess(cfg.containerId, { args: cfg.args, env: cfg.env, workdir: cfg.workdir, user: cfg.user, tty: cfg.tty, privileged: cfg.privileged });
  if (cfg.tty && s.size) proc.consoleSize = { height: s.size.rows, width: s.size.cols };
  const pipes = !cfg.tty && attached;
  const pairs: Array<SocketPair | null> = [];
  const devnull = openSync('/dev/null', 'r+');
  try {
    for (const want of [cfg.attachStdin, cfg.attachStdout, cfg.attachStderr]) pairs.push(pipes && want ? await socketPair(ctx.tsrun.runroot) : null);
    const stdio = pairs.map((p) => p?.theirs ?? devnull) as [number, number, number];
    const started = await c.exec(cfg.containerId, proc, { stdio, killOnParentDeath: attached }, s.id);
    return { ...started, stdin: pairs[0]?.ours, stdout: pairs[1]?.ours, stderr: pairs[2]?.ours };
  } catch (err) {
    for (const p of pairs) p?.ours.destroy();
    throw err;
  } finally {
    for (const p of pairs) p?.release();
    closeSync(devnull);
  }
}

interface Outputs {
  stdout: Writable;
  stderr: Writable;
  write(stream: 1 | 2, data: Buffer): void;
  /** The client has gone: what comes is dropped. */
  drop(): void;
  /** Flushes, then ends the client's stream. */
  end(): Promise<void>;
}

function outputs(io: ExecIo): Outputs {
  const stdout = streamWriter(io.output, 1, io.mux);
  const stderr = streamWriter(io.output, 2, io.mux);
  let dropped = false;
  let ended: Promise<void> | undefined;
  io.output.on('error', () => {});
  return {
    stdout,
    stderr,
    write: (stream, data) => void (dropped || (stream === 1 ? stdout : stderr).write(data)),
    drop: () => (dropped = true),
    end: () =>
      (ended ??= (async () => {
        if (!dropped) await Promise.all([stdout, stderr].map((w) => new Promise<void>((r) => w.end(() => r()))));
        io.output.end();
        // A client that never closes its side is let go of.
        if (io.hijacked) setTimeout(() => io.output.destroy(), 5000).unref();
      })()),
  };
}

interface Relay {
  /** Resolves when the process's output has all been read (EOF on its streams, or the pty's EIO). */
  drained: Promise<void>;
  close(): void;
}

type Started = { pid: number; ptyMaster: number | null; stdin?: import('node:net').Socket; stdout?: import('node:net').Socket; stderr?: import('node:net').Socket };

function relayExec(p: Started, io: ExecIo, out: Outputs, cfg: ExecConfig, gone: () => boolean): Relay {
  const detach = cfg.tty && cfg.attachStdin ? detachScanner(parseDetachKeys(cfg.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;
  const sources: Array<{ from: Readable; to: Writable }> = [];
  let toProcess: ((d: Buffer) => void) | undefined;
  let endInput: (() => void) | undefined;
  let pty: tty.ReadStream | undefined;
  if (p.ptyMaster !== null) {
    pty = new tty.ReadStream(p.ptyMaster);
    sources.push({ from: pty, to: out.stdout });
    toProcess = (d) => void pty!.write(d);
  } else {
    if (p.stdout) sources.push({ from: p.stdout, to: out.stdout });
    if (p.stderr) sources.push({ from: p.stderr, to: out.stderr });
    if (p.stdin) {
      const stdin = p.stdin;
      stdin.on('error', () => {});
      toProcess = (d) => void stdin.write(d);
      endInput = () => void stdin.end();
    }
  }
  const drained = Promise.all(
    sources.map(({ from, to }) => new Promise<void>((resolve) => {
      from.on('data', (d: Buffer) => {
        if (gone()) return;
        // Back-pressure: a slow client holds the process's output.
        if (!to.write(d)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.once('end', () => resolve());
      from.once('close', () => resolve());
      // EIO is how a pty master says every slave fd is closed.
      from.once('error', () => resolve());
    })),
  ).then(() => {});
  const onInput = (chunk: Buffer): void => {
    const data = detach ? detach(chunk) : chunk;
    if (data === null) {
      // The detach keys: the client lets go; the process goes on.
      stopInput();
      out.drop();
      void out.end();
      return;
    }
    if (data.length) toProcess?.(data);
  };
  const onEnd = (): void => endInput?.();
  const stopInput = (): void => {
    io.input.off('data', onInput);
    io.input.off('end', onEnd);
  };
  if (cfg.attachStdin && toProcess) {
    io.input.on('data', onInput);
    io.input.once('end', onEnd);
  } else {
    // Read and dropped, so that the client's going away is seen.
    io.input.on('data', () => {});
  }
  io.input.on('error', () => {});
  // (Reading the start's body paused it.)
  io.input.resume();
  return {
    drained,
    close: () => {
      stopInput();
      pty?.destroy();
      for (const s of [p.stdin, p.stdout, p.stderr]) s?.destroy();
    },
  };
}

/** The service's exec instances, by id. */
export class ExecSessions {
  private readonly sessions = new Map<string, ExecSession>();

  create(config: ExecConfig): ExecSession {
    const s = new ExecSession(config, (x) => this.sessions.delete(x.id));
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw new ApiError(404, `No such exec instance: ${id}`);
    return s;
  }
}

export const execSessions = (ctx: ApiContext): ExecSessions => ctx.state('exec.sessions', () => new ExecSessions());
