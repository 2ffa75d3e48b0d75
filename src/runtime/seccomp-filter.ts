// A spec's linux.seccomp → the BPF program the native child installs.
// Compiling takes libseccomp a few milliseconds, so each program is kept
// under the runroot with the profile it was compiled from (and the
// libseccomp and compiler version that made it): every later start or exec
// with the same profile reads the file instead. The file is found by a
// cheap hash of that key and taken only when the key stored in it is the
// same, byte for byte: no digest, whose node:crypto cost a start ~8 ms to
// load, and two profiles whose hashes collide only take turns in the file.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import { SECCOMP_FLAGS } from '../spec/seccomp.js';
import type { OciSeccomp } from '../spec/oci.js';
import { replaceFileSync } from '../util/atomic-write.js';

export interface CompiledSeccomp {
  filter: Buffer;
  flags: number;
}

function flagsOf(s: OciSeccomp): number {
  let flags = 0;
  for (const f of s.flags ?? []) {
    if (!Object.hasOwn(SECCOMP_FLAGS, f)) throw new TsrunError('INVALID_ARGUMENT', `seccomp: unknown flag ${JSON.stringify(f)}`);
    flags |= SECCOMP_FLAGS[f];
  }
  return flags;
}

function refuseNotify(s: OciSeccomp): void {
  const notify = s.defaultAction === 'SCMP_ACT_NOTIFY' || (s.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (notify || s.listenerPath) {
    throw new TsrunError(
      'UNSUPPORTED',
      'seccomp: SCMP_ACT_NOTIFY (a user-space notification listener) is not supported by tsrun; use SCMP_ACT_ERRNO or SCMP_ACT_LOG for those syscalls',
    );
  }
}

export async function compileSeccomp(native: NativeBinding, seccomp: OciSeccomp, cacheDir: string): Promise<CompiledSeccomp> {
  refuseNotify(seccomp);
  const flags = flagsOf(seccomp);
  const { libseccomp, program } = native.seccompInfo();
  const key = Buffer.from(`${libseccomp}/${program}\0${JSON.stringify(seccomp)}`);
  const file = join(cacheDir, `${fnv1a(key).toString(16).padStart(8, '0')}-${key.length}.bpf`);
  const cached = readProgram(file, key);
  if (cached) return { filter: cached, flags };
  let filter: Buffer;
  try {
    filter = native.seccompCompile(seccomp);
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid seccomp profile: ${(cause as Error).message.replace(/^seccomp: /, '')}`, { cause });
  }
  // Replaced whole (a reader never sees half a program), synchronously
  // and without fsync: the runroot is a tmpfs, and a lost or unwritable
  // file is only compiled again.
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(key.length, 0);
  lengths.writeUInt32LE(filter.length, 4);
  try {
    mkdirSync(cacheDir, { recursive: true });
    replaceFileSync(file, Buffer.concat([lengths, key, filter]));
  } catch {
    // kept next time, or never
  }
  return { filter, flags };
}

// A kept program: the key's and the program's lengths (4 bytes each,
// little-endian), the key, the program. Read synchronously (a few KB).
// Null when missing, cut short, or kept for another key.
function readProgram(file: string, key: Buffer): Buffer | null {
  let kept: Buffer;
  try {
    kept = readFileSync(file);
  } catch {
    return null; // not compiled yet
  }
  if (kept.length < 8 || kept.readUInt32LE(0) !== key.length || kept.length !== 8 + key.length + kept.readUInt32LE(4)) return null;
  return kept.subarray(8, 8 + key.length).equals(key) ? kept.subarray(8 + key.length) : null;
}

/** 32-bit FNV-1a: spreads the keys over file names (the key itself decides). */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
