// Seccomp profiles in Docker's format (what `--security-opt seccomp=FILE`
// takes, and tsrun's own default in seccomp-default.ts) resolved into the
// OCI runtime-spec's linux.seccomp for one container: rules whose
// includes/excludes do not match its capabilities, this architecture or
// this kernel are dropped, and the architecture map becomes a list. This is
// what Docker's daemon does before it hands runc a spec, so a profile means
// the same here as there.
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { TsrunError } from '../errors.js';
import type { OciSeccomp, OciSeccompArg, OciSeccompSyscall } from './oci.js';

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSeccompRule extends Partial<OciSeccompSyscall> {
  /** Older profiles name one syscall. */
  name?: string;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}

export interface DockerSeccompProfile extends Omit<OciSeccomp, 'syscalls'> {
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  syscalls: DockerSeccompRule[];
}

/** `inline`: the profile's JSON itself, as the docker CLI sends `--security-opt seccomp=FILE` to the API (it reads the file). */
export type SeccompChoice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'file'; path: string } | { kind: 'inline'; json: string };

export const SECCOMP_ACTIONS: readonly string[] = Object.freeze([
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
]);
const OPS: readonly OciSeccompArg['op'][] = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
];
export const SECCOMP_FLAGS: Readonly<Record<string, number>> = Object.freeze({
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
});

// Node's process.arch → Go's GOARCH (the names profiles' `arches` use) and
// the libseccomp architecture of this machine.
const ARCHES: Record<string, { go: string; scmp: string }> = {
  x64: { go: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  arm64: { go: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  arm: { go: 'arm', scmp: 'SCMP_ARCH_ARM' },
  ia32: { go: '386', scmp: 'SCMP_ARCH_X86' },
  ppc64: { go: 'ppc64le', scmp: 'SCMP_ARCH_PPC64LE' },
  s390x: { go: 's390x', scmp: 'SCMP_ARCH_S390X' },
  riscv64: { go: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
};

export interface HostInfo {
  /** process.arch */
  arch: string;
  /** os.release(), e.g. "6.1.0-18-amd64" */
  kernel: string;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = parse(kernel);
  const [x, y] = parse(min);
  return a > x || (a === x && b >= y);
}

function matches(f: Filter | undefined, caps: ReadonlySet<string>, arch: string, kernel: string, all: boolean): boolean {
  // includes: every condition must hold; excludes: any one excludes.
  const tests: boolean[] = [];
  if (f?.caps?.length) tests.push(all ? f.caps.every((c) => caps.has(c)) : f.caps.some((c) => caps.has(c)));
  if (f?.arches?.length) tests.push(f.arches.includes(arch));
  if (f?.minKernel) tests.push(kernelAtLeast(kernel, f.minKernel));
  return all ? tests.every(Boolean) : tests.some(Boolean);
}

/** The OCI linux.seccomp for a container with these (CAP_*) bounding capabilities. */
export function resolveProfile(p: DockerSeccompProfile, caps: readonly string[], host: HostInfo = { arch: process.arch, kernel: release() }): OciSeccomp {
  const arch = ARCHES[host.arch];
  const capSet = new Set(caps);
  const out: OciSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures?.length) out.architectures = [...p.architectures];
  else if (p.archMap && arch) {
    const entry = p.archMap.find((a) => a.architecture === arch.scmp);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  if (p.flags?.length) out.flags = [...p.flags];
  if (p.listenerPath) out.listenerPath = p.listenerPath;
  if (p.listenerMetadata) out.listenerMetadata = p.listenerMetadata;
  out.syscalls = [];
  for (const r of p.syscalls ?? []) {
    if (r.includes && !matches(r.includes, capSet, arch?.go ?? host.arch, host.kernel, true)) continue;
    if (r.excludes && matches(r.excludes, capSet, arch?.go ?? host.arch, host.kernel, false)) continue;
    const rule: OciSeccompSyscall = { names: r.names?.length ? [...r.names] : [r.name as string], action: r.action as string };
    if (r.errnoRet !== undefined) rule.errnoRet = r.errnoRet;
    if (r.args?.length) rule.args = r.args.map((a) => ({ ...a }));
    out.syscalls.push(rule);
  }
  return out;
}

/** Checks a profile read from a file; every message names what is wrong. */
export function validateProfile(p: unknown, source: string): DockerSeccompProfile {
  const fail = (why: string): never => {
    throw new TsrunError('INVALID_ARGUMENT', `invalid seccomp profile ${source}: ${why}`);
  };
  if (!p || typeof p !== 'object' || Array.isArray(p)) fail('not a JSON object');
  const prof = p as DockerSeccompProfile;
  const action = (a: unknown, where: string) => {
    if (typeof a !== 'string' || !SECCOMP_ACTIONS.includes(a)) fail(`${where}: unknown action ${JSON.stringify(a)}`);
  };
  action(prof.defaultAction, 'defaultAction');
  if (prof.architectures !== undefined && prof.archMap !== undefined) fail('"architectures" and "archMap" cannot both be set');
  for (const a of prof.architectures ?? []) if (typeof a !== 'string' || !a.startsWith('SCMP_ARCH_')) fail(`unknown architecture ${JSON.stringify(a)}`);
  for (const f of prof.flags ?? []) if (!Object.hasOwn(SECCOMP_FLAGS, f)) fail(`unknown flag ${JSON.stringify(f)}`);
  if (prof.syscalls !== undefined && !Array.isArray(prof.syscalls)) fail('"syscalls" must be an array');
  (prof.syscalls ?? []).forEach((r, i) => {
    const where = `syscalls[${i}]`;
    if (!r || typeof r !== 'object') fail(`${where} is not an object`);
    if (r.name !== undefined && r.names !== undefined) fail(`${where}: use "name" or "names", not both`);
    const names = r.names ?? (r.name !== undefined ? [r.name] : []);
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === '')) fail(`${where}: "names" must list syscall names`);
    action(r.action, where);
    for (const a of r.args ?? []) {
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) fail(`${where}: argument index ${JSON.stringify(a.index)} is not 0-5`);
      if (!OPS.includes(a.op)) fail(`${where}: unknown operator ${JSON.stringify(a.op)}`);
      if (typeof a.value !== 'number') fail(`${where}: argument value must be a number`);
    }
  });
  if (prof.syscalls === undefined) prof.syscalls = [];
  return prof;
}

export async function loadProfile(path: string): Promise<DockerSeccompProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read seccomp profile ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseProfile(text, path);
}

/** A profile's JSON text, checked; `source` names it in errors. */
export function parseProfile(text: string, source: string): DockerSeccompProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid seccomp profile ${source}: ${(cause as Error).message}`, { cause });
  }
  return validateProfile(parsed, source);
}

/** The linux.seccomp of a container (undefined: unconfined). */
export async function seccompFor(choice: SeccompChoice, caps: readonly string[]): Promise<OciSeccomp | undefined> {
  if (choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'file') return resolveProfile(await loadProfile(choice.path), caps);
  if (choice.kind === 'inline') return resolveProfile(parseProfile(choice.json, 'given inline'), caps);
  const { DEFAULT_SECCOMP_PROFILE } = await import('./seccomp-default.js');
  return resolveProfile(DEFAULT_SECCOMP_PROFILE, caps);
}
