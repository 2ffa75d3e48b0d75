// Layers unpacked in worker threads, a few at a time, so a pull's downloads
// and its unpacking overlap for real (apply.ts is synchronous on purpose and
// would otherwise stall the main thread's event loop for a whole layer).
// Workers are made on first use and kept for the next layer; they hold the
// process open only while they have a layer to do.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NativeSystemError, TsrunError, type TsrunErrorCode } from '../../errors.js';
import type { UnpackResult } from './layer.js';

export interface UnpackJob {
  id: number;
  blobPath: string;
  mediaType: string;
  dir: string;
}

export type UnpackReply =
  | { id: number; bytes: number }
  | { id: number; result: UnpackResult }
  | { id: number; error: { name: string; message: string; code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; step?: unknown } };

interface Slot {
  worker: Worker;
  busy: boolean;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** False when running from the TypeScript sources (tests), where there is no compiled worker to start. */
export function workersAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

export class UnpackPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Array<() => void> = [];
  private nextId = 0;

  constructor(private readonly size: number) {}

  async unpack(job: Omit<UnpackJob, 'id'>, onBytes?: (n: number) => void): Promise<UnpackResult> {
    const slot = await this.acquire();
    const id = this.nextId++;
    slot.worker.ref();
    try {
      return await new Promise<UnpackResult>((resolve, reject) => {
        const onMessage = (m: UnpackReply) => {
          if (m.id !== id) return;
          if ('bytes' in m) return void onBytes?.(m.bytes);
          slot.worker.off('message', onMessage);
          slot.worker.off('error', onError);
          if ('result' in m) resolve(m.result);
          else reject(rebuildError(m.error));
        };
        const onError = (err: Error) => {
          slot.worker.off('message', onMessage);
          this.drop(slot);
          reject(err);
        };
        slot.worker.on('message', onMessage);
        slot.worker.once('error', onError);
        slot.worker.postMessage({ ...job, id } satisfies UnpackJob);
      });
    } finally {
      slot.worker.unref();
      this.release(slot);
    }
  }

  /** Starts workers for `layers` coming layers ahead of time (their start-up overlaps the downloads). */
  warm(layers: number): void {
    while (this.slots.length < Math.min(layers, this.size)) {
      const worker = new Worker(WORKER_URL);
      worker.unref();
      this.slots.push({ worker, busy: false });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      if (this.slots.length < this.size) {
        this.warm(this.slots.length + 1);
        continue;
      }
      await new Promise<void>((r) => this.queue.push(r));
    }
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.queue.shift()?.();
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }
}

/** The worker's error as the class core code and the CLI know. */
function rebuildError(e: Extract<UnpackReply, { error: unknown }>['error']): Error {
  if (e.name === 'TsrunError') return new TsrunError(e.code as TsrunErrorCode, e.message);
  if (e.name === 'NativeSystemError') {
    return new NativeSystemError({ message: e.message, code: String(e.code), errno: Number(e.errno), syscall: String(e.syscall), step: String(e.step), ...(e.path ? { path: String(e.path) } : {}) });
  }
  const err = new Error(e.message);
  if (e.code !== undefined) (err as NodeJS.ErrnoException).code = String(e.code);
  return err;
}
