// Docker's stream formats. Without a TTY, attach, logs and exec multiplex
// stdout and stderr on one connection: each chunk is preceded by an 8-byte
// header [STREAM, 0, 0, 0, SIZE (uint32 big-endian)], STREAM 1 for stdout,
// 2 for stderr (Docker's stdcopy). With a TTY the bytes go as they are.
import { Writable } from 'node:stream';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export type StdStream = 1 | 2;

export function frame(stream: StdStream, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(data.length, 4);
  return Buffer.concat([head, data]);
}

/** A Writable that sends what it is given to `out`, framed as `stream` when `mux`. */
export function streamWriter(out: NodeJS.WritableStream, stream: StdStream, mux: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!chunk.length) return done();
      const ok = out.write(mux ? frame(stream, chunk) : chunk);
      // Back-pressure from a slow client holds the container's output, as Docker's does.
      if (ok) return done();
      const go = (): void => {
        out.off('drain', go);
        out.off('close', go);
        done();
      };
      out.on('drain', go);
      out.on('close', go);
    },
  });
}
