// A spec's linux.seccomp → the BPF program the native child installs.
// Compiling takes libseccomp a few milliseconds, so each program is kept
// under the runroot by the digest of its profile (and of the libseccomp and
// compiler version that made it): every later start or exec with the same profile reads
// the file instead.
import { nodeCrypto } from '../util/lazy-builtins.js';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { NativeBinding } from '../native/binding.js';
import { SECCOMP_FLAGS } from '../spec/seccomp.js';
import type { OciSeccomp } from '../spec/oci.js';

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
  const digest = nodeCrypto().createHash('sha256').update(`${libseccomp}/${program}\0`).update(JSON.stringify(seccomp)).digest('hex');
  const file = join(cacheDir, `${digest}.bpf`);
  // Read synchronously (a few KB): fs/promises would cost a start ~2.5 ms to load.
  try {
    return { filter: readFileSync(file), flags };
  } catch {
    // not compiled yet
  }
  let filter: Buffer;
  try {
    filter = native.seccompCompile(seccomp);
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid seccomp profile: ${(cause as Error).message.replace(/^seccomp: /, '')}`, { cause });
  }
  await mkdir(cacheDir, { recursive: true });
  // Written whole then renamed, so a reader never sees half a program; no
  // fsync: the runroot is a tmpfs, and a lost file is only compiled again.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, filter)
    .then(() => rename(tmp, file))
    .catch(() => {});
  return { filter, flags };
}
