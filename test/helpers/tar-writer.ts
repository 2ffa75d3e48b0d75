// Builds tar archives byte by byte, for tests that need exact (or exactly
// wrong) layers: names with `..`, absolute paths, links pointing out, PAX
// overrides, devices. Nothing here cleans or checks a name.
//
//   tarArchive([{ name: 'etc/', type: 'dir' }, { name: 'etc/passwd', body: 'root:x:0:0::/:/bin/sh\n' }])
//
// Names or link targets over 100 bytes get a PAX record (or GNU L/K entries
// with longNames: 'gnu'); `pax` adds records of your own before the entry.
import { gzipSync } from 'node:zlib';

export type TarWriterType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarWriterEntry {
  name: string;
  type?: TarWriterType;
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch (integer part goes into the header). */
  mtime?: number;
  /** PAX records written in an 'x' header before this entry. */
  pax?: Record<string, string>;
  /** A PAX global ('g') header written before this entry. */
  globalPax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
  /** How a name or link target over 100 bytes is stored (default 'pax'). */
  longNames?: 'pax' | 'gnu';
  /** Write uid, gid, size and mtime in GNU base-256. */
  base256?: boolean;
  /** A raw typeflag character, overriding `type`. */
  typeflag?: string;
}

const TYPEFLAG: Record<TarWriterType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(h: Buffer, off: number, len: number, value: number): void {
  const s = Math.trunc(value).toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`tar-writer: ${value} does not fit in ${len} octal bytes`);
  h.write(`${s}\0`, off, len, 'latin1');
}

function base256(h: Buffer, off: number, len: number, value: number): void {
  let v = BigInt(Math.trunc(value));
  if (v < 0n) v = (1n << BigInt(len * 8)) + v;
  for (let i = len - 1; i >= 0; i--) {
    h[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h[off] |= 0x80;
}

export interface TarHeaderFields {
  name: string;
  typeflag: string;
  size?: number;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  base256?: boolean;
  /** 'ustar' (POSIX, default) or 'gnu' magic. */
  magic?: 'ustar' | 'gnu';
}

/** One 512-byte header with a correct checksum (name and linkname are cut at 100 bytes). */
export function tarHeader(f: TarHeaderFields): Buffer {
  const h = Buffer.alloc(512);
  Buffer.from(f.name, 'utf8').copy(h, 0, 0, 100);
  const num = f.base256 ? base256 : octal;
  octal(h, 100, 8, f.mode ?? 0o644);
  num(h, 108, 8, f.uid ?? 0);
  num(h, 116, 8, f.gid ?? 0);
  num(h, 124, 12, f.size ?? 0);
  num(h, 136, 12, f.mtime ?? 0);
  h.write(f.typeflag, 156, 1, 'latin1');
  Buffer.from(f.linkname ?? '', 'utf8').copy(h, 157, 0, 100);
  if (f.magic === 'gnu') h.write('ustar  \0', 257, 8, 'latin1');
  else h.write('ustar\u000000', 257, 8, 'latin1');
  h.write(f.uname ?? '', 265, 32, 'utf8');
  h.write(f.gname ?? '', 297, 32, 'utf8');
  octal(h, 329, 8, f.devmajor ?? 0);
  octal(h, 337, 8, f.devminor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function pad(b: Buffer): Buffer[] {
  const rest = (512 - (b.length % 512)) % 512;
  return rest ? [b, Buffer.alloc(rest)] : [b];
}

/** PAX records "LEN key=value\n". */
export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    const bodyLen = Buffer.byteLength(body);
    let len = bodyLen + 1;
    while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
    parts.push(Buffer.from(`${len}${body}`));
  }
  return Buffer.concat(parts);
}

function metaEntry(typeflag: string, name: string, body: Buffer): Buffer[] {
  return [tarHeader({ name, typeflag, size: body.length }), ...pad(body)];
}

/** The blocks of one entry (with any PAX/GNU headers before it), no end-of-archive. */
export function tarEntry(e: TarWriterEntry): Buffer {
  const type = e.type ?? 'file';
  const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
  const out: Buffer[] = [];
  const pax: Record<string, string> = {};
  let name = e.name;
  let linkname = e.linkname ?? '';
  if (Buffer.byteLength(name) > 100) {
    if (e.longNames === 'gnu') out.push(...metaEntry('L', '././@LongLink', Buffer.from(`${name}\0`)));
    else pax.path = name;
    name = Buffer.from(name).subarray(0, 100).toString('utf8');
  }
  if (Buffer.byteLength(linkname) > 100) {
    if (e.longNames === 'gnu') out.push(...metaEntry('K', '././@LongLink', Buffer.from(`${linkname}\0`)));
    else pax.linkpath = linkname;
    linkname = Buffer.from(linkname).subarray(0, 100).toString('utf8');
  }
  if (e.globalPax) out.unshift(...metaEntry('g', 'pax_global_header', paxRecords(e.globalPax)));
  Object.assign(pax, e.pax ?? {});
  if (Object.keys(pax).length) out.push(...metaEntry('x', `PaxHeaders/${name.slice(0, 80)}`, paxRecords(pax)));
  const defaultMode = type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
  out.push(
    tarHeader({
      name,
      typeflag: e.typeflag ?? TYPEFLAG[type],
      size: type === 'file' ? body.length : 0,
      linkname,
      mode: e.mode ?? defaultMode,
      uid: e.uid,
      gid: e.gid,
      uname: e.uname,
      gname: e.gname,
      mtime: e.mtime ?? 1_700_000_000,
      devmajor: e.devmajor,
      devminor: e.devminor,
      base256: e.base256,
      magic: e.longNames === 'gnu' ? 'gnu' : 'ustar',
    }),
  );
  if (type === 'file' && body.length) out.push(...pad(body));
  return Buffer.concat(out);
}

/** A whole archive: the entries then two zero blocks. */
export function tarArchive(entries: TarWriterEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarEntry), Buffer.alloc(1024)]);
}

/** tarArchive, gzip-compressed (a typical layer blob). */
export function tarGz(entries: TarWriterEntry[]): Buffer {
  return gzipSync(tarArchive(entries));
}
