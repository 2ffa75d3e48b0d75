// A streaming tar writer: POSIX ustar headers, with a PAX ('x') header
// before an entry whenever a field does not fit ustar (names over 100 bytes
// that cannot be split at a '/' into the 155-byte prefix, link targets over
// 100 bytes, non-ASCII names, ids over 0o7777777, sizes of 8 GiB and up,
// extended attributes as SCHILY.xattr.*). This is what Go's archive/tar
// writes for Docker and containerd, and what readTar (unpack/tar.ts) reads.
//
// Bodies are copied chunk by chunk from any async iterable with the
// destination's backpressure honoured, so a multi-GB layer never sits in
// memory. A body must be exactly the size in its header: a longer or
// shorter one is an error, unless `lenient` (export of a live container,
// whose files may change while they are read: cut or zero-padded, as GNU
// tar does with "file changed as we read it").
import type { Writable } from 'node:stream';
import { TsrunError } from '../../errors.js';

export type TarWriteType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarWriteEntry {
  /** The name as stored (a directory's gets a trailing '/' added). */
  name: string;
  type: TarWriteType;
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch (may have a fraction: kept in PAX mtime). */
  mtime?: number;
  /** Body size (files only). */
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);
const TYPEFLAG: Record<TarWriteType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

function octal(h: Buffer, off: number, len: number, value: number): void {
  h.write(`${Math.trunc(value).toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

/** One PAX record: "<len> key=value\n", where len counts the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** Splits a long name into ustar prefix (≤155) and name (≤100) at a '/', or returns null. */
function splitUstar(name: string): { prefix: string; name: string } | null {
  if (!isAscii(name)) return null;
  if (name.length <= 100) return { prefix: '', name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length > 0 && rest.length <= 100) return { prefix, name: rest };
    if (prefix.length <= 155) break;
  }
  return null;
}

/** The header block for the entry, with the PAX header before it when needed. */
export function tarHeaderBlocks(e: TarWriteEntry): Buffer {
  let name = e.name;
  if (e.type === 'dir' && !name.endsWith('/')) name += '/';
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const uid = e.uid ?? 0;
  const gid = e.gid ?? 0;
  const mtime = e.mtime ?? 0;
  const linkname = e.linkname ?? '';
  const pax: Buffer[] = [];

  let split = splitUstar(name);
  if (!split) {
    pax.push(paxRecord('path', Buffer.from(name, 'utf8')));
    split = { prefix: '', name: Buffer.from(name, 'utf8').subarray(0, 100).toString('latin1') };
  }
  let link = linkname;
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) {
    pax.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
    link = '';
  }
  if (uid > MAX_OCTAL_7) pax.push(paxRecord('uid', Buffer.from(String(uid))));
  if (gid > MAX_OCTAL_7) pax.push(paxRecord('gid', Buffer.from(String(gid))));
  if (size > MAX_OCTAL_11) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (mtime !== Math.trunc(mtime) || mtime < 0 || mtime > MAX_OCTAL_11) pax.push(paxRecord('mtime', Buffer.from(String(mtime))));
  const uname = e.uname ?? '';
  const gname = e.gname ?? '';
  if (Buffer.byteLength(uname) > 31 || !isAscii(uname)) pax.push(paxRecord('uname', Buffer.from(uname, 'utf8')));
  if (Buffer.byteLength(gname) > 31 || !isAscii(gname)) pax.push(paxRecord('gname', Buffer.from(gname, 'utf8')));
  for (const [k, v] of e.xattrs ?? []) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));

  const h = Buffer.alloc(BLOCK);
  h.write(split.name, 0, 100, 'latin1');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, uid > MAX_OCTAL_7 ? 0 : uid);
  octal(h, 116, 8, gid > MAX_OCTAL_7 ? 0 : gid);
  octal(h, 124, 12, size > MAX_OCTAL_11 ? 0 : size);
  octal(h, 136, 12, Math.min(Math.max(Math.trunc(mtime), 0), MAX_OCTAL_11));
  h.write(TYPEFLAG[e.type], 156, 1, 'latin1');
  h.write(link, 157, 100, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  if (isAscii(uname)) h.write(uname, 265, 31, 'latin1');
  if (isAscii(gname)) h.write(gname, 297, 31, 'latin1');
  if (e.type === 'char' || e.type === 'block') {
    octal(h, 329, 8, e.devmajor ?? 0);
    octal(h, 337, 8, e.devminor ?? 0);
  }
  h.write(split.prefix, 345, 155, 'latin1');
  checksum(h);
  if (pax.length === 0) return h;

  const body = Buffer.concat(pax);
  const ph = Buffer.alloc(BLOCK);
  // Go and GNU tar name the PAX header after the entry; readers ignore it.
  ph.write(`PaxHeaders.0/${split.name}`.slice(0, 99), 0, 100, 'latin1');
  octal(ph, 100, 8, 0o644);
  octal(ph, 108, 8, 0);
  octal(ph, 116, 8, 0);
  octal(ph, 124, 12, body.length);
  octal(ph, 136, 12, 0);
  ph.write('x', 156, 1, 'latin1');
  ph.write('ustar\0', 257, 6, 'latin1');
  ph.write('00', 263, 2, 'latin1');
  checksum(ph);
  return Buffer.concat([ph, body, padding(body.length), h]);
}

function checksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

function padding(size: number): Buffer {
  return ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);
}

export class TarWriter {
  private failed: Error | null = null;
  private readonly onError = (err: Error) => {
    this.failed ??= err;
  };

  constructor(private readonly out: Writable) {
    out.on('error', this.onError);
  }

  private async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          this.out.off('drain', ok);
          this.out.off('error', done);
          this.out.off('close', closed);
          if (err) reject(err);
          else resolve();
        };
        const ok = () => done();
        const closed = () => done(this.failed ?? new Error('the output was closed'));
        this.out.on('drain', ok);
        this.out.on('error', done);
        this.out.on('close', closed);
      });
    }
  }

  /** Writes one entry; `body` (files only) must hold exactly `entry.size` bytes unless `lenient`. */
  async add(entry: TarWriteEntry, body?: AsyncIterable<Buffer | string> | Buffer, opts: { lenient?: boolean } = {}): Promise<void> {
    const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
    await this.write(tarHeaderBlocks(entry));
    if (entry.type !== 'file') return;
    let written = 0;
    if (body) {
      const src: AsyncIterable<Buffer | string> = Buffer.isBuffer(body) ? [body] as unknown as AsyncIterable<Buffer> : body;
      for await (const c of src) {
        const chunk = typeof c === 'string' ? Buffer.from(c) : c;
        if (written + chunk.length > size) {
          if (!opts.lenient) throw new TsrunError('INVALID_STATE', `tar: ${entry.name} is longer than the ${size} bytes in its header`);
          await this.write(chunk.subarray(0, size - written));
          written = size;
          break;
        }
        await this.write(chunk);
        written += chunk.length;
      }
    }
    if (written < size) {
      if (!opts.lenient) throw new TsrunError('INVALID_STATE', `tar: ${entry.name} has ${written} bytes, its header says ${size}`);
      for (let left = size - written; left > 0; left -= Math.min(left, ZEROS.length)) await this.write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    }
    await this.write(padding(size));
  }

  /** The two zero blocks that end the archive. Does not end the output stream. */
  async finish(): Promise<void> {
    await this.write(ZEROS);
    this.out.off('error', this.onError);
  }
}
