// The JSON body of a request that takes over its connection (exec start),
// and what follows it. With `Upgrade: tcp`, Node stops parsing at the end
// of the headers and hands over the socket: the body (Content-Length
// bytes) is read from the socket itself, and what comes after it is the
// client's input. Without an upgrade the body is the request's; a chunked
// one may go on past its JSON value, and that rest is the input too.
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { badRequest } from './errors.js';
import { readJson, type Request } from './http.js';

export interface HijackBody<T> {
  value: T;
  /** The client's input after the body: the socket (upgraded), the rest of a chunked body, or an ended stream. */
  input: Readable;
}

export async function readHijackBody<T>(req: Request, fallback: T): Promise<HijackBody<T>> {
  if (req.headers.upgrade) {
    const socket = req.raw.socket as Socket;
    const length = Number(req.headers['content-length'] ?? 0);
    const body = length > 0 ? await readExactly(socket, length) : Buffer.alloc(0);
    return { value: parse(body.toString('utf8'), fallback), input: socket };
  }
  if (req.headers['transfer-encoding'] !== 'chunked') {
    const input = new PassThrough();
    input.end();
    return { value: await readJson(req.raw, fallback), input };
  }
  return readJsonPrefix(req.raw, fallback);
}

function parse<T>(text: string, fallback: T): T {
  if (!text.trim()) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw badRequest(`invalid JSON: ${(err as Error).message}`);
  }
}

// `length` bytes from the socket; what it read past them goes back.
function readExactly(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', done);
      socket.pause();
      if (err) return reject(err);
      const all = Buffer.concat(chunks);
      if (all.length > length) socket.unshift(all.subarray(length));
      resolve(all.subarray(0, length));
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (size >= length) done();
    };
    const onEnd = (): void => done(badRequest('the request body ended early'));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', done);
  });
}

/** The first JSON value of a chunked body; the bytes after it flow on as `input`. */
function readJsonPrefix<T>(raw: Readable, fallback: T): Promise<HijackBody<T>> {
  return new Promise((resolve, reject) => {
    const scan = jsonEnd();
    let head = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      const end = scan(c);
      head = Buffer.concat([head, end < 0 ? c : c.subarray(0, end)]);
      if (end < 0) return;
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.pause();
      const input = new PassThrough();
      if (end < c.length) input.write(c.subarray(end));
      raw.pipe(input);
      try {
        resolve({ value: parse(head.toString('utf8'), fallback), input });
      } catch (err) {
        reject(err);
      }
    };
    const onEnd = (): void => {
      const input = new PassThrough();
      input.end();
      try {
        resolve({ value: parse(head.toString('utf8'), fallback), input });
      } catch (err) {
        reject(err);
      }
    };
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', reject);
  });
}

/** A scanner over JSON text in pieces: the offset just past the first complete value in a piece, else -1. */
function jsonEnd(): (c: Buffer) => number {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  return (c) => {
    for (let i = 0; i < c.length; i++) {
      const b = c[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === 0x5c) escaped = true;
        else if (b === 0x22) inString = false;
        continue;
      }
      if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) {
        depth++;
        started = true;
      } else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (started && depth === 0) return i + 1;
      }
    }
    return -1;
  };
}
