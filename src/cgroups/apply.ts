// Performs a list of control-file writes (resources.ts computes them):
// every file is checked before the first write, so a missing one changes
// nothing; with `rollback` (update on a live cgroup) a write the kernel
// refuses also changes nothing: what the earlier writes replaced is put
// back, last first.

import path from 'node:path';
import { TsrunError } from '../errors.js';
import { exists, parseKeyed, readTextSync, writeControl } from './fsutil.js';
import { missingFileMessage, type ControlWrite } from './resources.js';
import type { CgroupDeps } from './types.js';

export interface ApplyOptions {
  /** Restore what was there when a write fails (default false: create removes the whole cgroup instead). */
  rollback?: boolean;
}

/**
 * `target(w)` is the file's path, or '' when the controller is not there at
 * all (v1). A write with alternatives goes to the first of its files that
 * exists. Returns the optional writes skipped because no file was there.
 */
export function applyWrites(deps: CgroupDeps, writes: ControlWrite[], target: (w: ControlWrite) => string, opts: ApplyOptions = {}): ControlWrite[] {
  const resolved = writes.map((w) => resolveWrite(w, target));
  for (const [i, w] of writes.entries()) {
    if (!w.optional && !exists(target(resolved[i]))) throw new TsrunError('CGROUP_UNAVAILABLE', missingFileMessage(w));
  }
  const skipped: ControlWrite[] = [];
  const undo: Array<{ file: string; value: string }> = [];
  try {
    for (const w of resolved) {
      const file = target(w);
      if (w.optional && !exists(file)) {
        skipped.push(w);
        continue;
      }
      const old = opts.rollback ? restoreValue(w, readTextSync(file)) : null;
      writeOne(deps, file, w);
      if (old !== null) undo.push({ file, value: old });
    }
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        deps.native.cgroupWrite(u.file, u.value);
      } catch {
        // Best effort: the error that matters is the first one.
      }
    }
    throw err;
  }
  return skipped;
}

/** `w`, or the first of its alternatives whose file exists when its own does not. */
function resolveWrite(w: ControlWrite, target: (w: ControlWrite) => string): ControlWrite {
  if (!w.alternatives?.length || exists(target(w))) return w;
  for (const alt of w.alternatives) {
    const candidate = { ...w, ...alt };
    if (exists(target(candidate))) return candidate;
  }
  return w;
}

function writeOne(deps: CgroupDeps, file: string, w: ControlWrite): void {
  try {
    writeControl(deps, file, w.value, w.flag);
  } catch (err) {
    // v1 refuses a memory limit below what the cgroup uses now with EBUSY
    // (runc: "unable to set memory limit to N (current usage: U ...)").
    const code = ((err as TsrunError).cause as NodeJS.ErrnoException | undefined)?.code;
    if (w.file === 'memory.limit_in_bytes' && code === 'EBUSY') {
      const usage = readTextSync(path.join(path.dirname(file), 'memory.usage_in_bytes'))?.trim() ?? 'unknown';
      throw new TsrunError('INVALID_ARGUMENT', `cannot apply ${w.flag}: ${w.value} bytes is below what the container uses now (${usage} bytes)`, {
        cause: err,
      });
    }
    throw err;
  }
}

// v1 reads "no limit" back as the largest page count; -1 writes it again.
const V1_UNLIMITED = 2 ** 62;

/** What to write to `w`'s file to undo `w`, from the file's text before it; null = nothing to undo. */
export function restoreValue(w: ControlWrite, text: string | null): string | null {
  if (text === null) return null;
  const dev = w.value.split(' ')[0];
  const line = () => text.split('\n').find((l) => l.startsWith(`${dev} `));
  switch (w.file) {
    case 'io.max':
      return line() ?? `${dev} rbps=max wbps=max`;
    case 'blkio.throttle.read_bps_device':
    case 'blkio.throttle.write_bps_device':
      return line() ?? `${dev} 0`;
    case 'blkio.weight':
    case 'blkio.bfq.weight':
    case 'io.weight':
    case 'io.bfq.weight':
      // The default weight ("default 100" in BFQ's and io.weight's text); per-device lines stay.
      return /^(?:default\s+)?(\d+)$/m.exec(text)?.[1] ?? null;
    case 'memory.oom_control': {
      const v = parseKeyed(text).oom_kill_disable;
      return v === undefined ? null : String(v);
    }
  }
  const v = text.trim();
  if (/^memory\.(memsw\.|soft_)?limit_in_bytes$/.test(w.file) && Number(v) >= V1_UNLIMITED) return '-1';
  // An empty cpuset (v2: "the parent's") is written back as an empty line.
  return v === '' ? '\n' : v;
}
