// The body of an unpack worker thread (see pool.ts). Layers are written with
// synchronous fs calls, one entry after another; in a worker that blocks only
// this thread, so several layers unpack at once (each waiting on the disk in
// its own thread) while the main thread keeps downloading.
import { parentPort } from 'node:worker_threads';
import { native } from '../../native/binding.js';
import { unpackLayer } from './layer.js';
import type { UnpackJob, UnpackReply } from './pool.js';

// Progress is batched: a message per chunk would cost more than the chunk.
const PROGRESS_STEP = 1 << 20;

const port = parentPort!;
port.on('message', (job: UnpackJob) => {
  let pending = 0;
  const reply = (r: UnpackReply) => port.postMessage(r);
  unpackLayer({
    blobPath: job.blobPath,
    mediaType: job.mediaType,
    dir: job.dir,
    native,
    onBytes: (n) => {
      pending += n;
      if (pending >= PROGRESS_STEP) {
        reply({ id: job.id, bytes: pending });
        pending = 0;
      }
    },
  }).then(
    (result) => {
      if (pending) reply({ id: job.id, bytes: pending });
      reply({ id: job.id, result });
    },
    (err: unknown) => {
      const e = err as { name?: string; message?: string; code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; step?: unknown };
      reply({ id: job.id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code, errno: e?.errno, syscall: e?.syscall, path: e?.path, step: e?.step } });
    },
  );
});
