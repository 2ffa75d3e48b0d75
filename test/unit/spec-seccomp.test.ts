// Docker-format profiles resolved for one container: capabilities, arches
// and kernel versions decide which rules stay; bad profiles are named.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../src/spec/defaults.js';
import { resolveProfile, validateProfile, type DockerSeccompProfile } from '../../src/spec/seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from '../../src/spec/seccomp-default.js';

const host = { arch: 'x64', kernel: '6.1.0-18-amd64' };
const allowed = (caps: readonly string[], h = host) => {
  const out = resolveProfile(DEFAULT_SECCOMP_PROFILE, caps, h);
  return new Set(out.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
};

describe('the default seccomp profile', () => {
  it('allows what ordinary programs call (pipes, sockets, files, threads)', () => {
    const a = allowed(DEFAULT_CAPABILITIES);
    for (const n of ['pipe', 'pipe2', 'read', 'openat', 'clone' /* conditional, below */].filter((x) => x !== 'clone')) expect(a).toContain(n);
    for (const n of ['futex', 'epoll_wait', 'socketpair', 'execve', 'wait4', 'rt_sigaction', 'capset', 'setresuid']) expect(a).toContain(n);
  });

  it('refuses what Docker refuses for the default capabilities', () => {
    const a = allowed(DEFAULT_CAPABILITIES);
    for (const n of ['keyctl', 'add_key', 'request_key', 'userfaultfd', 'bpf', 'perf_event_open', 'mount', 'umount2', 'unshare', 'setns', 'clock_settime', 'syslog', 'open_by_handle_at', 'kexec_load', 'init_module', 'swapon', 'acct', 'reboot', 'ptrace' /* allowed, minKernel only */].filter((n) => n !== 'ptrace')) {
      expect(a).not.toContain(n);
    }
  });

  it('clone is allowed only without namespace flags, clone3 says ENOSYS; CAP_SYS_ADMIN lifts both', () => {
    const def = resolveProfile(DEFAULT_SECCOMP_PROFILE, DEFAULT_CAPABILITIES, host).syscalls!;
    expect(def.filter((r) => r.names.includes('clone'))).toEqual([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    expect(def.find((r) => r.names.includes('clone3'))).toEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    const admin = allowed([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
    for (const n of ['clone', 'clone3', 'mount', 'unshare', 'setns', 'bpf']) expect(admin).toContain(n);
    expect(resolveProfile(DEFAULT_SECCOMP_PROFILE, ['CAP_SYS_ADMIN'], host).syscalls!.some((r) => r.names.includes('clone3') && r.action !== 'SCMP_ACT_ALLOW')).toBe(false);
  });

  it('each capability opens only its own calls', () => {
    expect(allowed([...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME'])).toContain('clock_settime');
    expect(allowed([...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME'])).not.toContain('syslog');
    expect(allowed([...DEFAULT_CAPABILITIES, 'CAP_SYSLOG'])).toContain('syslog');
    expect(allowed(['CAP_SYS_CHROOT'])).toContain('chroot');
    expect(allowed([])).not.toContain('chroot');
  });

  it('personality only with the harmless values', () => {
    const rules = resolveProfile(DEFAULT_SECCOMP_PROFILE, DEFAULT_CAPABILITIES, host).syscalls!.filter((r) => r.names.includes('personality'));
    expect(rules.map((r) => r.args![0].value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
    expect(rules.every((r) => r.args![0].op === 'SCMP_CMP_EQ')).toBe(true);
  });

  it('the architectures are this machine and its compat modes; arch-only rules follow the machine', () => {
    expect(resolveProfile(DEFAULT_SECCOMP_PROFILE, [], host).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(allowed([])).toContain('arch_prctl');
    const arm = { arch: 'arm64', kernel: '6.1.0' };
    expect(resolveProfile(DEFAULT_SECCOMP_PROFILE, [], arm).architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed([], arm)).not.toContain('arch_prctl');
    expect(allowed([], arm)).toContain('set_tls');
  });

  it('minKernel: ptrace is allowed from 4.8 on only', () => {
    expect(allowed([], { arch: 'x64', kernel: '4.8.0' })).toContain('ptrace');
    expect(allowed([], { arch: 'x64', kernel: '4.4.0-210-generic' })).not.toContain('ptrace');
  });
});

describe('validateProfile', () => {
  const bad = (p: unknown) => () => validateProfile(p, 'p.json');
  it('names what is wrong', () => {
    expect(bad([])).toThrow(/invalid seccomp profile p.json: not a JSON object/);
    expect(bad({ defaultAction: 'ALLOW' })).toThrow(/defaultAction: unknown action "ALLOW"/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] })).toThrow(/syscalls\[0\]: "names" must list/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 7, value: 0, op: 'SCMP_CMP_EQ' }] }] })).toThrow(/argument index 7/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'EQ' }] }] })).toThrow(/unknown operator "EQ"/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] })).toThrow(/unknown flag/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86'], archMap: [] })).toThrow(/cannot both be set/);
  });

  it("takes an OCI-shaped profile and Docker's legacy single name", () => {
    const p = validateProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ name: 'read', action: 'SCMP_ACT_ALLOW' }] }, 'p.json') as DockerSeccompProfile;
    expect(resolveProfile(p, [], host).syscalls).toEqual([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
  });
});
