// Docker's confinement flags of `run`/`create` (--privileged, --cap-add,
// --cap-drop, --security-opt, --device, --device-cgroup-rule, --ulimit,
// --shm-size, --sysctl, --group-add, --oom-score-adj, --ipc, --pid, --uts,
// --cgroupns): parsed and checked here, before anything is created, into
// a Confinement that spec/build.ts applies. What inspect shows of them
// (Docker's HostConfig fields) is kept alongside.

import path from 'node:path';
import { TsrunError } from '../errors.js';
import { hostCapabilities, normalizeCapability } from './capabilities.js';
import { parseDevice, parseDeviceCgroupRule, type DeviceMapping } from './devices.js';
import {
  ipcModeText,
  parseCgroupnsMode,
  parseIpcMode,
  parsePidMode,
  parseUtsMode,
  pidModeText,
  type NamespaceModes,
} from './namespaces.js';
import type { LinuxDeviceCgroup } from './oci.js';
import { parseSize } from './resources.js';
import { parseProfile, type SeccompChoice } from './seccomp.js';
import { parseSysctls } from './sysctl.js';
import { parseUlimits, type Ulimit } from './ulimits.js';

/** The raw flags, as the CLI (or an API client) hands them over. */
export interface ConfinementFlags {
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  device?: string[];
  deviceCgroupRule?: string[];
  ulimit?: string[];
  shmSize?: string;
  sysctl?: string[];
  groupAdd?: string[];
  oomScoreAdj?: string;
  cgroupns?: string;
  ipc?: string;
  pid?: string;
  uts?: string;
}

/** --security-opt, parsed. */
export interface SecurityOpts {
  seccomp: SeccompChoice;
  /** On unless `no-new-privileges=false` (tsrun's default is on; Docker's is off). */
  noNewPrivileges: boolean;
  /** An AppArmor profile name; 'unconfined' asks for none. */
  apparmor?: string;
  /** SELinux label options (label=user:X, label=disable, ...). */
  label: string[];
  /** systempaths=unconfined: no masked and no read-only /proc and /sys paths. */
  unmaskedPaths: boolean;
}

/** Docker's HostConfig fields for these flags, as inspect shows them. */
export interface ConfinementHostConfig {
  Privileged: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  SecurityOpt: string[] | null;
  Devices: DeviceMapping[];
  DeviceCgroupRules: string[] | null;
  Ulimits: Ulimit[] | null;
  ShmSize: number;
  Sysctls?: Record<string, string>;
  GroupAdd: string[] | null;
  OomScoreAdj: number;
  CgroupnsMode: string;
  IpcMode: string;
  PidMode: string;
  UTSMode: string;
}

/** Every confinement choice of a container, checked. */
export interface Confinement {
  privileged: boolean;
  /** Normalized capability names (CAP_*), or ALL. */
  capAdd: string[];
  capDrop: string[];
  security: SecurityOpts;
  devices: DeviceMapping[];
  deviceCgroupRules: LinuxDeviceCgroup[];
  ulimits: Ulimit[];
  /** Bytes for the /dev/shm tmpfs (absent: Docker's 64 MiB). */
  shmSize?: number;
  sysctls: Record<string, string>;
  /** Group names (looked up in the image's /etc/group) or ids. */
  groupAdd: string[];
  oomScoreAdj?: number;
  modes: NamespaceModes;
  hostConfig: ConfinementHostConfig;
}

/** Docker's default /dev/shm size (64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

// strconv.ParseBool's spellings.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/**
 * --security-opt values with moby's rules (daemon parseSecurityOpt and the
 * CLI's parseSecurityOpts): KEY=VALUE, or the legacy KEY:VALUE;
 * `no-new-privileges` alone means true. Relative seccomp profile paths are
 * taken from `cwd`.
 */
export function parseSecurityOpts(values: readonly string[], cwd: string): SecurityOpts {
  const out: SecurityOpts = { seccomp: { kind: 'default' }, noNewPrivileges: true, label: [], unmaskedPaths: false };
  for (const opt of values) {
    const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid --security-opt ${JSON.stringify(opt)}: ${why}`);
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    const at = eq >= 0 ? eq : colon;
    const key = at >= 0 ? opt.slice(0, at) : opt;
    const value = at >= 0 ? opt.slice(at + 1) : '';
    if (at < 0 || value === '') {
      throw bad('use seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false], apparmor=PROFILE, label=..., or systempaths=unconfined');
    }
    switch (key) {
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = { kind: 'unconfined' };
        else if (value === 'builtin') out.seccomp = { kind: 'default' };
        // The profile itself (what the docker CLI sends the API for seccomp=FILE): checked now, before anything is made.
        else if (value.trimStart().startsWith('{')) {
          parseProfile(value, 'given inline');
          out.seccomp = { kind: 'inline', json: value };
        }
        else out.seccomp = { kind: 'file', path: path.resolve(cwd, value) };
        break;
      case 'no-new-privileges':
        if (TRUE.has(value)) out.noNewPrivileges = true;
        else if (FALSE.has(value)) out.noNewPrivileges = false;
        else throw bad('no-new-privileges takes true or false');
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'label':
        out.label.push(value);
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw bad('systempaths takes only unconfined');
        out.unmaskedPaths = true;
        break;
      default:
        throw bad(`unknown option ${JSON.stringify(key)}: use seccomp, no-new-privileges, apparmor, label or systempaths`);
    }
  }
  return out;
}

function parseOomScoreAdj(value: string): number {
  const n = Number(value.trim());
  if (!/^[+-]?\d+$/.test(value.trim()) || n < -1000 || n > 1000) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--oom-score-adj" flag: the range for oom score adj is [-1000, 1000]`);
  }
  return n;
}

function parseShmSize(value: string): number {
  const bytes = parseSize(value, '--shm-size');
  if (bytes <= 0) throw new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--shm-size" flag: the size must be greater than 0`);
  return bytes;
}

function parseGroupAdd(value: string): string {
  if (value === '' || value.includes(':') || value.includes('\n')) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "--group-add" flag: a group name or id`);
  }
  return value;
}

/**
 * Checks every flag, touching nothing; `cwd` resolves a relative seccomp
 * profile path, `capabilities` are those this host can grant (default:
 * tsrun's own effective set).
 */
export function parseConfinementFlags(flags: ConfinementFlags, opts: { cwd: string; capabilities?: readonly string[] }): Confinement {
  const privileged = !!flags.privileged;
  const available = opts.capabilities ?? hostCapabilities();
  const capAdd = (flags.capAdd ?? []).map((c) => normalizeCapability(c, '--cap-add', available));
  const capDrop = (flags.capDrop ?? []).map((c) => normalizeCapability(c, '--cap-drop', available));
  const security = parseSecurityOpts(flags.securityOpt ?? [], opts.cwd);
  const devices = (flags.device ?? []).map(parseDevice);
  const deviceCgroupRules = (flags.deviceCgroupRule ?? []).map(parseDeviceCgroupRule);
  const ulimits = parseUlimits(flags.ulimit ?? []);
  const shmSize = flags.shmSize === undefined ? undefined : parseShmSize(flags.shmSize);
  const sysctls = parseSysctls(flags.sysctl ?? []);
  const groupAdd = (flags.groupAdd ?? []).map(parseGroupAdd);
  const oomScoreAdj = flags.oomScoreAdj === undefined ? undefined : parseOomScoreAdj(flags.oomScoreAdj);
  const modes: NamespaceModes = {
    ipc: parseIpcMode(flags.ipc),
    pid: parsePidMode(flags.pid),
    uts: parseUtsMode(flags.uts),
    cgroupns: parseCgroupnsMode(flags.cgroupns),
  };
  if (shmSize !== undefined && modes.ipc.kind !== 'private' && modes.ipc.kind !== 'shareable') {
    throw new TsrunError('INVALID_ARGUMENT', `conflicting options: --shm-size and --ipc ${ipcModeText(modes.ipc)} (the container has no /dev/shm of its own)`);
  }
  const list = (l: string[] | undefined) => (l?.length ? [...l] : null);
  const hostConfig: ConfinementHostConfig = {
    Privileged: privileged,
    CapAdd: list(flags.capAdd),
    CapDrop: list(flags.capDrop),
    SecurityOpt: list(flags.securityOpt),
    Devices: devices,
    DeviceCgroupRules: list(flags.deviceCgroupRule),
    Ulimits: ulimits.length ? ulimits : null,
    ShmSize: shmSize ?? DEFAULT_SHM_SIZE,
    ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
    GroupAdd: list(flags.groupAdd),
    OomScoreAdj: oomScoreAdj ?? 0,
    CgroupnsMode: modes.cgroupns,
    IpcMode: ipcModeText(modes.ipc),
    PidMode: pidModeText(modes.pid),
    UTSMode: modes.uts === 'host' ? 'host' : '',
  };
  return { privileged, capAdd, capDrop, security, devices, deviceCgroupRules, ulimits, shmSize, sysctls, groupAdd, oomScoreAdj, modes, hostConfig };
}

/** Which Linux security modules the host has enabled. */
export { detectHostLsm, type HostLsm } from './lsm.js';
import type { HostLsm } from './lsm.js';

/**
 * The LSM settings for the process. `apparmor=unconfined` and
 * `label=disable` ask for nothing and are always accepted; any other
 * request fails clearly on a host without that LSM, never silently
 * ignored. A profile on an AppArmor host goes to process.apparmorProfile.
 * SELinux labels would need the host policy's contexts: refused for now.
 */
export function lsmSettings(sec: SecurityOpts, host: HostLsm): { apparmorProfile?: string } {
  const out: { apparmorProfile?: string } = {};
  if (sec.apparmor !== undefined && sec.apparmor !== 'unconfined') {
    if (!host.apparmor) {
      throw new TsrunError('INVALID_ARGUMENT', `--security-opt apparmor=${sec.apparmor}: AppArmor is not enabled on this host (use apparmor=unconfined, or leave it out)`);
    }
    out.apparmorProfile = sec.apparmor;
  }
  for (const label of sec.label) {
    if (label === 'disable') continue;
    if (!host.selinux) {
      throw new TsrunError('INVALID_ARGUMENT', `--security-opt label=${label}: SELinux is not enabled on this host (use label=disable, or leave it out)`);
    }
    throw new TsrunError('UNSUPPORTED', `--security-opt label=${label}: tsrun cannot apply SELinux labels yet (use label=disable)`);
  }
  return out;
}
