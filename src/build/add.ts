// ADD's two extras over COPY: a local tar archive (plain, gzip, bzip2, xz
// or zstd, told by content, never by name) is unpacked into the
// destination; a URL is downloaded (mode 0600, mtime from Last-Modified, as
// Docker does), checked against --checksum when given.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { TsrunError } from '../errors.js';
import type { FetchResponse } from '../image/registry/http-fetch.js';
import { unpackTarStream, type UnpackNative } from '../image/unpack/layer.js';

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

export interface Download {
  file: string;
  /** The name it gets under a directory destination: the URL path's last component. */
  name: string;
  digest: string;
  mtime?: Date;
}

const DOWNLOAD_TIMEOUT_MS = 120_000;

export async function fetchUrl(url: string, workDir: string, checksum?: string): Promise<Download> {
  const { httpFetch } = await import('../image/registry/http-fetch.js');
  let res: FetchResponse;
  try {
    res = await httpFetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TsrunError('BUILD_FAILED', `failed to download ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new TsrunError('BUILD_FAILED', `failed to download ${url}: the server answered ${res.status} ${res.statusText}`);
  }
  // Streamed to the build's scratch dir, hashed on the way: a large download never sits in memory.
  const file = join(workDir, `download-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  const hashed = new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, hash.update(chunk) && chunk) });
  try {
    await pipeline(res.body ?? Readable.from([]), hashed, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    throw new TsrunError('BUILD_FAILED', `failed to download ${url}: ${(err as Error).message}`, { cause: err });
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum && checksum !== digest) {
    throw new TsrunError('BUILD_FAILED', `checksum mismatch for ${url}: expected ${checksum}, got ${digest}`);
  }
  const modified = res.headers.get('last-modified');
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  return { file, name, digest, ...(modified && !Number.isNaN(Date.parse(modified)) ? { mtime: new Date(modified) } : {}) };
}

type Kind = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

function sniff(head: Buffer): Kind {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return 'none';
}

/** A valid tar header block: its checksum adds up (v7, ustar and GNU alike). */
function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  const stored = parseInt(b.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/g, '').trim(), 8);
  if (Number.isNaN(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  return sum === stored;
}

function decompress(file: string, kind: Kind): Readable {
  const src = createReadStream(file);
  if (kind === 'none') return src;
  if (kind === 'gzip') return src.pipe(zlib.createGunzip());
  const tool = kind === 'bzip2' ? 'bzip2' : kind === 'xz' ? 'xz' : 'zstd';
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  src.pipe(child.stdin);
  child.stdin.on('error', () => {});
  child.on('error', (err) => child.stdout.destroy(new TsrunError('BUILD_FAILED', `ADD needs ${tool} to unpack this archive: ${err.message}`)));
  return child.stdout;
}

async function head(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Unpacks `file` into a new directory when it is a tar archive; null when it is not one (it is copied as it is). */
export async function extractArchive(file: string, workDir: string, native: UnpackNative): Promise<string | null> {
  const kind = sniff(await head(file, 8));
  let first = Buffer.alloc(0);
  try {
    for await (const c of decompress(file, kind)) {
      first = Buffer.concat([first, c as Buffer]);
      if (first.length >= 512) break;
    }
  } catch {
    return null; // not decompressible: an ordinary file that happens to start like one
  }
  if (!isTarHeader(first)) return null;
  const dir = join(workDir, `extract-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  try {
    await unpackTarStream(decompress(file, kind), dir, native);
  } catch (err) {
    throw new TsrunError('BUILD_FAILED', `cannot unpack ${posix.basename(file)}: ${(err as Error).message}`, { cause: err });
  }
  return dir;
}
