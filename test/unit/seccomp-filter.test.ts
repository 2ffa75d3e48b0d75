// The programs compileSeccomp keeps under the runroot: found by a hash of
// the profile, taken only when the profile kept with the program is the same.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NativeBinding } from '../../src/native/binding.js';
import type { OciSeccomp } from '../../src/spec/oci.js';
import { compileSeccomp } from '../../src/runtime/seccomp-filter.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-seccomp-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in for libseccomp: a "program" that names the profile's default action.
function fakeNative(version = '2.5.4') {
  const compiled: string[] = [];
  const native = {
    seccompInfo: () => ({ libseccomp: version, program: 1 }),
    seccompCompile: (s: OciSeccomp) => {
      compiled.push(s.defaultAction);
      return Buffer.from(`program for ${s.defaultAction}`.padEnd(16, '.'));
    },
  } as unknown as NativeBinding;
  return { native, compiled };
}

const profile = (defaultAction: string): OciSeccomp => ({ defaultAction, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }) as OciSeccomp;
const kept = () => readdirSync(dir).filter((f) => f.endsWith('.bpf'));

describe('compileSeccomp', () => {
  it('compiles a profile once and reads the kept program after', async () => {
    const { native, compiled } = fakeNative();
    const first = await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), dir);
    const again = await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), dir);
    expect(compiled).toEqual(['SCMP_ACT_ALLOW']);
    expect(again.filter.toString()).toBe(first.filter.toString());
    expect(first.filter.toString()).toMatch(/^program for SCMP_ACT_ALLOW/);
    // Another profile, another libseccomp: compiled anew, kept beside.
    await compileSeccomp(native, profile('SCMP_ACT_LOG'), dir);
    await compileSeccomp(fakeNative('2.6.0').native, profile('SCMP_ACT_ALLOW'), dir);
    expect(compiled).toEqual(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);
    expect(kept()).toHaveLength(3);
  });

  it('never takes a program kept for another profile under the same name, nor a cut one', async () => {
    const { native, compiled } = fakeNative();
    await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), dir);
    const [name] = kept();
    const file = join(dir, name!);
    const ours = readFileSync(file);
    // What a colliding profile of the same length would leave there: one byte of the key differs.
    const foreign = Buffer.from(ours);
    foreign[12] ^= 1;
    foreign.write('FOREIGN PROGRAM!', foreign.length - 16);
    writeFileSync(file, foreign);
    const r = await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), dir);
    expect(r.filter.toString()).toMatch(/^program for SCMP_ACT_ALLOW/);
    expect(compiled).toHaveLength(2);
    expect(readFileSync(file).equals(ours)).toBe(true);
    // Cut short (in the program, in the key), or empty.
    for (const cut of [ours.subarray(0, ours.length - 3), ours.subarray(0, 20), Buffer.alloc(0)]) {
      writeFileSync(file, cut);
      expect((await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), dir)).filter.toString()).toMatch(/^program for SCMP_ACT_ALLOW/);
    }
    expect(compiled).toHaveLength(5);
  });

  it('compiles anyway where it cannot keep the program (the cache dir cannot be made)', async () => {
    const { native, compiled } = fakeNative();
    writeFileSync(join(dir, 'file'), '');
    const cacheDir = join(dir, 'file', 'seccomp');
    for (let i = 0; i < 2; i++) expect((await compileSeccomp(native, profile('SCMP_ACT_ALLOW'), cacheDir)).filter.toString()).toMatch(/^program for SCMP_ACT_ALLOW/);
    expect(compiled).toHaveLength(2);
    expect(readdirSync(dir)).toEqual(['file']);
  });
});
