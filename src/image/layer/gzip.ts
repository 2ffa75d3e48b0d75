// A gzip compressor that uses every libuv thread, as pigz does: the input is
// cut into 1 MiB blocks, each deflated on its own (zlib's thread pool runs
// several at once) with the 32 KiB before it as its dictionary, so the ratio
// stays close to one stream's; the blocks end with a sync flush (byte
// aligned, no final bit) and are concatenated in order into ONE gzip member
// with the CRC-32 and length of the whole input. Any gzip reader reads it.
// The output depends only on the input, the level and the block size, so a
// layer's digest is as reproducible as with a single stream.
//
// Needs zlib.crc32 (Node 20.15+/22.2+); parallelGzip() falls back to
// zlib.createGzip without it.
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

const BLOCK = 1 << 20;
const DICT = 32 << 10;
// Blocks in flight: enough to keep the pool busy while the oldest is written out.
const IN_FLIGHT = Math.max(2, Number(process.env.UV_THREADPOOL_SIZE) || 4);
// Fixed header: no name, mtime 0, no extra flags, OS = 3 (Unix), as zlib writes it.
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

type Crc32 = (data: Buffer, value?: number) => number;
const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

function deflateBlock(data: Buffer, dictionary: Buffer | undefined, level: number, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(data, {
      level,
      ...(dictionary ? { dictionary } : {}),
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

class ParallelGzip extends Transform {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private prevTail: Buffer | undefined;
  private readonly jobs: Array<Promise<Buffer>> = [];
  private crc = 0;
  private total = 0;
  private started = false;

  constructor(private readonly level: number) {
    super({ highWaterMark: BLOCK });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = crc32!(chunk, this.crc);
    this.total += chunk.length;
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    this.drainFull().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    (async () => {
      this.launch(true);
      while (this.jobs.length) await this.emitOldest();
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.total % 2 ** 32, 4);
      this.push(trailer);
    })().then(() => cb(), cb);
  }

  /** Starts a job for each full block; waits for the oldest when too many are running. */
  private async drainFull(): Promise<void> {
    while (this.pendingSize >= BLOCK) {
      this.launch(false);
      if (this.jobs.length >= IN_FLIGHT) await this.emitOldest();
    }
  }

  private launch(last: boolean): void {
    const all = Buffer.concat(this.pending);
    const data = last ? all : all.subarray(0, BLOCK);
    const rest = last ? Buffer.alloc(0) : all.subarray(BLOCK);
    this.pending = rest.length ? [rest] : [];
    this.pendingSize = rest.length;
    const job = deflateBlock(data, this.prevTail, this.level, last);
    job.catch(() => undefined); // surfaced when awaited in order
    this.jobs.push(job);
    // The dictionary of the next block: the last 32 KiB before it (copied: `all` may be reused).
    const tail = data.length >= DICT ? data.subarray(data.length - DICT) : Buffer.concat([this.prevTail ?? Buffer.alloc(0), data]).subarray(-DICT);
    this.prevTail = tail.length ? Buffer.from(tail) : undefined;
  }

  private async emitOldest(): Promise<void> {
    const out = await this.jobs.shift()!;
    if (!this.started) {
      this.push(HEADER);
      this.started = true;
    }
    this.push(out);
  }
}

/** A gzip Transform: block-parallel when zlib.crc32 exists, else zlib's own single stream. */
export function parallelGzip(level: number): Transform {
  return crc32 ? new ParallelGzip(level) : zlib.createGzip({ level, chunkSize: 128 << 10 });
}
