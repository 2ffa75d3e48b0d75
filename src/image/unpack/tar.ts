// A streaming tar reader: an async iterator over the entries of a tar
// stream, never holding more than one source chunk plus one header in
// memory, so multi-GB layers stream straight to their files.
//
// Formats: POSIX ustar (with the 155-byte prefix), GNU (`L`/`K` long names
// and links, base-256 numbers) and PAX (`x` per entry, `g` global: path,
// linkpath, size, uid, gid, uname, gname, mtime/atime with fractions,
// SCHILY.xattr.*, LIBARCHIVE.xattr.* in base64). Every header checksum is
// checked. Like Go's archive/tar (what containerd and Docker read layers
// with): two zero blocks end the archive and what follows is ignored
// (but still read, so a digest over the stream covers it); a clean end of
// stream at a header boundary also ends it; anything cut short or malformed
// is TsrunError('LAYER_INVALID').
//
// Each entry's body must be consumed (chunks() or body) or left alone
// before asking for the next entry; what is left is skipped then.
import { Readable } from 'node:stream';
import { TsrunError } from '../../errors.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  /** The entry's name as recorded (PAX and GNU long names applied), not cleaned. */
  path: string;
  type: TarEntryType;
  /** The raw typeflag character ('0', '5', 'S', ...); PAX (GNU.sparse.*) sparse files are reported as 'S'. */
  typeflag: string;
  /** Symlink text or hardlink target, as recorded. */
  linkname: string;
  /** Body size in bytes (0 for entries that carry no data). */
  size: number;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch, with a fraction when PAX gave one. */
  mtime: number;
  atime?: number;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX records (SCHILY.xattr.*, LIBARCHIVE.xattr.*). */
  xattrs: Map<string, Buffer>;
  /** The body as it arrives, once, in source-chunk sized pieces. */
  chunks(): AsyncGenerator<Buffer, void, undefined>;
  /** The body as a Readable (made on first access, over chunks()). */
  readonly body: Readable;
  /** Discards what is left of the body. */
  skip(): Promise<void>;
}

const BLOCK = 512;
/** Upper bound for PAX and GNU long-name bodies, which are held in memory. */
const MAX_META = 1 << 20;

function invalid(message: string): TsrunError {
  return new TsrunError('LAYER_INVALID', message);
}

/** Pulls bytes from an async iterable of chunks. */
class ByteReader {
  private readonly it: AsyncIterator<Buffer | string>;
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private eof = false;
  /** Bytes consumed so far (for messages). */
  offset = 0;

  constructor(src: AsyncIterable<Buffer | string>) {
    this.it = src[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    while (!this.eof) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (chunk.length === 0) continue;
      this.buf = chunk;
      this.off = 0;
      return true;
    }
    return false;
  }

  /** Exactly n bytes, or fewer when the stream ended first. */
  async read(n: number): Promise<Buffer> {
    const avail = this.buf.length - this.off;
    if (avail >= n) {
      const b = this.buf.subarray(this.off, this.off + n);
      this.off += n;
      this.offset += n;
      return b;
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (this.off >= this.buf.length && !(await this.more())) break;
      const take = Math.min(n - got, this.buf.length - this.off);
      parts.push(this.buf.subarray(this.off, this.off + take));
      this.off += take;
      got += take;
    }
    this.offset += got;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }

  /** Up to n bytes as they come; returns how many were delivered via `sink`. */
  async *take(n: number): AsyncGenerator<Buffer, number, undefined> {
    let left = n;
    while (left > 0) {
      if (this.off >= this.buf.length && !(await this.more())) break;
      const take = Math.min(left, this.buf.length - this.off);
      const b = this.buf.subarray(this.off, this.off + take);
      this.off += take;
      this.offset += take;
      left -= take;
      yield b;
    }
    return n - left;
  }

  /** Skips up to n bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.off >= this.buf.length && !(await this.more())) break;
      const take = Math.min(left, this.buf.length - this.off);
      this.off += take;
      this.offset += take;
      left -= take;
    }
    return n - left;
  }

  /** Reads the rest of the stream. */
  async drain(): Promise<void> {
    this.offset += this.buf.length - this.off;
    this.off = this.buf.length;
    while (await this.more()) {
      this.offset += this.buf.length;
      this.off = this.buf.length;
    }
  }

  /** Stops pulling from the source (lets it clean up). */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function cstring(b: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

/** An octal or base-256 numeric field; null when malformed. */
function parseNumeric(b: Buffer, start: number, len: number): number | null {
  const first = b[start];
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement after the 0x80 marker bit
    // (Go's parseNumeric: invert when the sign bit 0x40 is set, then ^x).
    const inv = first & 0x40 ? 0xff : 0;
    let v = 0;
    for (let i = 0; i < len; i++) {
      let c = b[start + i] ^ inv;
      if (i === 0) c &= 0x7f;
      v = v * 256 + c;
      if (v > Number.MAX_SAFE_INTEGER) return null;
    }
    return inv ? -v - 1 : v;
  }
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return null;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return null;
  return digits === 0 ? 0 : v;
}

function checksumOk(h: Buffer): boolean {
  const recorded = parseNumeric(h, 148, 8);
  if (recorded === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return recorded === unsigned || recorded === signed;
}

interface BodyState {
  remaining: number;
  padding: number;
  name: string;
  started: boolean;
  /** Set once the reader moved on; the body can no longer be read. */
  closed: boolean;
  inflight: Promise<unknown> | null;
}

interface Pax {
  [key: string]: Buffer;
}

/** Parses PAX records "LEN KEY=VALUE\n". */
function parsePax(body: Buffer, where: string): Pax {
  const out: Pax = Object.create(null) as Pax;
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // some writers pad with NULs
    const sp = body.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) throw invalid(`invalid tar archive: malformed PAX record ${where}`);
    const len = Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= sp - pos + 1 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw invalid(`invalid tar archive: malformed PAX record ${where}`);
    }
    const eq = body.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= pos + len - 1) throw invalid(`invalid tar archive: malformed PAX record ${where}`);
    out[body.toString('utf8', sp + 1, eq)] = Buffer.from(body.subarray(eq + 1, pos + len - 1));
    pos += len;
  }
  return out;
}

function paxNumber(v: Buffer, key: string, where: string, allowFraction: boolean): number {
  const s = v.toString('latin1');
  const re = allowFraction ? /^-?\d+(\.\d+)?$/ : /^\d+$/;
  const n = Number(s);
  if (!re.test(s) || !Number.isFinite(n) || (!allowFraction && !Number.isSafeInteger(n))) {
    throw invalid(`invalid tar archive: PAX ${key}=${JSON.stringify(s)} is not a valid number ${where}`);
  }
  return n;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Types whose size field says nothing about a body (Go's isHeaderOnlyType). */
const HEADER_ONLY = new Set<TarEntryType>(['hardlink', 'symlink', 'char', 'block', 'dir', 'fifo']);

/**
 * Reads tar entries from a stream of bytes. After the end of the archive the
 * rest of the source is read and ignored.
 */
export async function* readTar(source: AsyncIterable<Buffer | string>): AsyncGenerator<TarEntry, void, undefined> {
  const r = new ByteReader(source);
  let global: Pax = Object.create(null) as Pax;
  let ok = false;
  try {
    let pending: BodyState | null = null;
    let longName: string | null = null;
    let longLink: string | null = null;
    let local: Pax | null = null;

    const finishPending = async () => {
      if (!pending) return;
      const p = pending;
      pending = null;
      p.closed = true;
      // A Readable over chunks() may be reading ahead: let that read land first.
      if (p.inflight) await p.inflight.catch(() => undefined);
      const skipped = await r.skip(p.remaining + p.padding);
      if (skipped < p.remaining) throw invalid(`truncated tar archive: the body of ${p.name} is cut short`);
      // A missing final padding is tolerated (as Go does): nothing follows it anyway.
    };

    const readMeta = async (size: number, what: string, at: number): Promise<Buffer> => {
      if (size > MAX_META) throw invalid(`invalid tar archive: ${what} record at offset ${at} is too large (${size} bytes)`);
      const b = await r.read(size);
      if (b.length < size) throw invalid(`truncated tar archive: ${what} record at offset ${at} is cut short`);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if ((await r.skip(pad)) < pad) throw invalid(`truncated tar archive: ${what} record at offset ${at} is cut short`);
      return Buffer.from(b);
    };

    for (;;) {
      await finishPending();
      const at = r.offset;
      const h = await r.read(BLOCK);
      if (h.length === 0) {
        if (longName !== null || longLink !== null || local !== null) throw invalid(`truncated tar archive: ends after an extended header at offset ${at}`);
        break;
      }
      if (h.length < BLOCK) throw invalid(`truncated tar archive: the header at offset ${at} is cut short`);
      if (isZero(h)) {
        const h2 = await r.read(BLOCK);
        if (h2.length === 0 || (h2.length === BLOCK && isZero(h2))) break;
        if (h2.length < BLOCK) throw invalid(`truncated tar archive: the header at offset ${at + BLOCK} is cut short`);
        throw invalid(`invalid tar archive: a lone zero block at offset ${at}`);
      }
      if (!checksumOk(h)) throw invalid(`invalid tar archive: header checksum mismatch at offset ${at}`);

      let typeflag = String.fromCharCode(h[156]);
      const hdrSize = parseNumeric(h, 124, 12);
      if (hdrSize === null || hdrSize < 0) throw invalid(`invalid tar archive: bad size field in the header at offset ${at}`);
      const magic = h.toString('latin1', 257, 263);
      const ustar = magic === 'ustar\0';

      // Meta entries: they describe the next header.
      if (typeflag === 'L' || typeflag === 'K') {
        const b = await readMeta(hdrSize, typeflag === 'L' ? 'GNU long name' : 'GNU long link', at);
        const s = cstring(b, 0, b.length);
        if (typeflag === 'L') longName = s;
        else longLink = s;
        continue;
      }
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'X') {
        const records = parsePax(await readMeta(hdrSize, 'PAX', at), `at offset ${at}`);
        if (typeflag === 'g') global = Object.assign(Object.create(null) as Pax, global, records);
        else local = Object.assign(local ?? (Object.create(null) as Pax), records);
        continue;
      }

      let name = cstring(h, 0, 100);
      if (ustar) {
        const prefix = cstring(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = cstring(h, 157, 100);
      let type: TarEntryType = TYPES[typeflag] ?? 'other';
      const num = (start: number, len: number, what: string): number => {
        const v = parseNumeric(h, start, len);
        if (v === null) throw invalid(`invalid tar archive: bad ${what} field in the header at offset ${at}`);
        return v;
      };
      let size = hdrSize;
      let uid = num(108, 8, 'uid');
      let gid = num(116, 8, 'gid');
      let mtime = num(136, 12, 'mtime');
      let atime: number | undefined;
      let uname = cstring(h, 265, 32);
      let gname = cstring(h, 297, 32);
      const mode = num(100, 8, 'mode') & 0o7777;
      const devmajor = type === 'char' || type === 'block' ? num(329, 8, 'devmajor') : 0;
      const devminor = type === 'char' || type === 'block' ? num(337, 8, 'devminor') : 0;
      const xattrs = new Map<string, Buffer>();

      if (longName !== null) name = longName;
      if (longLink !== null) linkname = longLink;
      const pax = local ? Object.assign(Object.create(null) as Pax, global, local) : global;
      const where = `for ${JSON.stringify(name)} at offset ${at}`;
      for (const key of Object.keys(pax)) {
        const v = pax[key];
        if (v.length === 0) continue; // an empty value deletes the setting
        switch (key) {
          case 'path': name = v.toString('utf8'); break;
          case 'linkpath': linkname = v.toString('utf8'); break;
          case 'size': size = paxNumber(v, key, where, false); break;
          case 'uid': uid = paxNumber(v, key, where, false); break;
          case 'gid': gid = paxNumber(v, key, where, false); break;
          case 'uname': uname = v.toString('utf8'); break;
          case 'gname': gname = v.toString('utf8'); break;
          case 'mtime': mtime = paxNumber(v, key, where, true); break;
          case 'atime': atime = paxNumber(v, key, where, true); break;
          default:
            if (key.startsWith('SCHILY.xattr.')) {
              xattrs.set(key.slice('SCHILY.xattr.'.length), v);
            } else if (key.startsWith('LIBARCHIVE.xattr.')) {
              let xname: string;
              try {
                xname = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
              } catch {
                throw invalid(`invalid tar archive: bad PAX key ${JSON.stringify(key)} ${where}`);
              }
              xattrs.set(xname, Buffer.from(v.toString('latin1'), 'base64'));
            } else if (key.startsWith('GNU.sparse.')) {
              type = 'other';
              typeflag = 'S';
            }
        }
      }
      longName = null;
      longLink = null;
      local = null;

      // Old (pre-POSIX) archives mark directories with a trailing slash.
      if (typeflag === '\0' && name.endsWith('/')) type = 'dir';
      const dataSize = HEADER_ONLY.has(type) ? 0 : size;
      const state: BodyState = { remaining: dataSize, padding: (BLOCK - (dataSize % BLOCK)) % BLOCK, name, started: false, closed: false, inflight: null };
      pending = state;

      async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
        if (state.started || state.closed) throw new Error(`tar: the body of ${state.name} can be read once, before the next entry`);
        state.started = true;
        const gen = r.take(state.remaining);
        for (;;) {
          if (state.closed) throw new Error(`tar: the body of ${state.name} was read after the next entry was requested`);
          const p = gen.next();
          state.inflight = p;
          const n = await p;
          state.inflight = null;
          if (n.done) break;
          state.remaining -= n.value.length;
          yield n.value;
        }
        if (state.remaining > 0) throw invalid(`truncated tar archive: the body of ${state.name} is cut short`);
      }
      let body: Readable | undefined;
      const entry: TarEntry = {
        path: name,
        type,
        typeflag,
        linkname,
        size: dataSize,
        mode,
        uid,
        gid,
        uname,
        gname,
        mtime,
        ...(atime !== undefined ? { atime } : {}),
        devmajor,
        devminor,
        xattrs,
        chunks,
        get body(): Readable {
          body ??= Readable.from(chunks(), { objectMode: false });
          return body;
        },
        skip: async () => {
          if (state === pending) await finishPending();
        },
      };
      yield entry;
      if (body && !body.readableEnded && !body.destroyed) body.destroy();
    }
    await finishPending();
    ok = true;
  } finally {
    if (ok) await r.drain();
    else await r.close();
  }
}
