// Docker's resource flags (--memory, --cpus, --pids-limit, ...) → OCI
// linux.resources, with Docker's units, defaults and limits, so a command
// line copied from `docker run` means the same here. The only I/O is
// stat() of the devices named by --device-read-bps/--device-write-bps.

import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxResources, LinuxThrottleDevice } from './oci.js';

export interface ResourceFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  memoryReservation?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetMems?: string;
  blkioWeight?: string;
  /** --oom-kill-disable: a bool flag (true, or its --oom-kill-disable=false form's text). */
  oomKillDisable?: boolean | string;
}

/** How parseResourceFlags reads the flags: for `run`/`create`, or for `update` (changes to a container's limits). */
export interface ResourceParseOptions {
  /**
   * `update`: --memory-swap may come without --memory (the container has
   * one), and --pids-limit 0 or -1 lifts the limit (pids.limit -1).
   */
  update?: boolean;
}

/** moby's linuxMinMemory: below this a container cannot even start. */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** The CFS period Docker uses for --cpus (100 ms). */
export const CPU_PERIOD = 100_000;
const MAX_SHARES = 262_144;

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

function badArgument(flag: string, value: string, why: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`);
}

/**
 * go-units RAMInBytes, which Docker uses: a number, an optional space, then
 * an optional binary unit (k, m, g, t, p; any case) with an optional "i"
 * and "b": 512, 1.5g, 64m, 64mb, 64MiB, 100b.
 */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value.trim());
  if (!m) throw badArgument(flag, value, `invalid size: '${value}' (a number with an optional b, k, m or g suffix)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw badArgument(flag, value, `size '${value}' is too large`);
  return bytes;
}

function parseInteger(value: string, flag: string): number {
  const v = value.trim();
  const n = Number(v);
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(n)) throw badArgument(flag, value, `'${value}' is not an integer`);
  return n;
}

function parseMemory(flags: ResourceFlags, opts: ResourceParseOptions): LinuxResources['memory'] {
  const limit = flags.memory === undefined ? 0 : parseSize(flags.memory, '--memory');
  if (limit > 0 && limit < MIN_MEMORY) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --memory ${JSON.stringify(flags.memory)}: Minimum memory limit allowed is 6MB`);
  }
  let swap = 0;
  if (flags.memorySwap !== undefined) {
    swap = flags.memorySwap.trim() === '-1' ? -1 : parseSize(flags.memorySwap, '--memory-swap');
    if (swap > 0 && limit === 0 && !opts.update) {
      throw new TsrunError('INVALID_ARGUMENT', 'invalid --memory-swap: it needs --memory too (--memory-swap is memory plus swap)');
    }
    if (swap > 0 && swap < limit) {
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `invalid --memory-swap ${JSON.stringify(flags.memorySwap)}: it is memory plus swap, so it must be at least --memory (${flags.memory})`,
      );
    }
  }
  // Docker's checks (moby verifyPlatformContainerResources).
  const reservation = flags.memoryReservation === undefined ? 0 : parseSize(flags.memoryReservation, '--memory-reservation');
  if (reservation > 0 && reservation < MIN_MEMORY) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --memory-reservation ${JSON.stringify(flags.memoryReservation)}: Minimum memory reservation allowed is 6MB`);
  }
  if (limit > 0 && reservation > limit) {
    throw new TsrunError(
      'INVALID_ARGUMENT',
      `invalid --memory-reservation ${JSON.stringify(flags.memoryReservation)}: Minimum memory limit can not be less than memory reservation limit, see usage`,
    );
  }
  const oomKillDisable = parseBoolFlag(flags.oomKillDisable, '--oom-kill-disable');
  // Unlike dockerd, no implicit --memory-swap of twice --memory: whether the
  // host accounts swap is only known when the cgroup is made.
  if (limit === 0 && swap === 0 && reservation === 0 && !oomKillDisable) return undefined;
  return {
    ...(limit ? { limit } : {}), ...(swap ? { swap } : {}), ...(reservation ? { reservation } : {}), ...(oomKillDisable ? { disableOOMKiller: true } : {}),
  };
}

/** A Go bool flag's value: absent or false → false; true, or a bare flag → true. */
export function parseBoolFlag(value: boolean | string | undefined, flag: string): boolean {
  if (value === undefined || typeof value === 'boolean') return !!value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 't') return true;
  if (v === 'false' || v === '0' || v === 'f') return false;
  throw badArgument(flag, value, `strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

function parseCpus(value: string, hostCpus: number): { quota: number; period: number } | undefined {
  const v = value.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v)) throw badArgument('--cpus', value, `'${value}' is not a number`);
  if (/\.\d{10,}/.test(v)) throw badArgument('--cpus', value, 'value is too precise');
  const nano = Math.round(Number(v) * 1e9);
  if (nano === 0) return undefined; // Docker: 0 means no limit
  if (nano < 1e7 || nano > hostCpus * 1e9) {
    throw new TsrunError(
      'INVALID_ARGUMENT',
      `invalid --cpus ${JSON.stringify(value)}: range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`,
    );
  }
  return { quota: Math.floor((nano * CPU_PERIOD) / 1e9), period: CPU_PERIOD };
}

function parseShares(value: string): number | undefined {
  const shares = parseInteger(value, '--cpu-shares');
  if (shares === 0) return undefined;
  if (shares < 2 || shares > MAX_SHARES) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --cpu-shares ${shares}: must be between 2 and ${MAX_SHARES} (0 keeps the default, 1024)`);
  }
  return shares;
}

function parseCpuset(value: string, hostCpus: number): string {
  const v = value.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw badArgument('--cpuset-cpus', value, `invalid list '${value}' (use a form such as 0-2,4)`);
  for (const part of v.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    if (hi! < lo) throw badArgument('--cpuset-cpus', value, `range ${part} runs backwards`);
    if (hi! >= hostCpus) {
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `invalid --cpuset-cpus ${JSON.stringify(value)}: requested CPUs are not available - requested ${v}, available: 0-${hostCpus - 1}`,
      );
    }
  }
  return v;
}

/** Linux's dev_t split (glibc gnu_dev_major/gnu_dev_minor). */
export function devMajorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 32n) & 0xfffff000n) | ((rdev >> 8n) & 0xfffn)),
    minor: Number(((rdev >> 12n) & 0xffffff00n) | (rdev & 0xffn)),
  };
}

/** "/dev/sda:1mb" → the device's numbers and a rate in bytes per second. */
export function parseThrottle(value: string, flag: string): LinuxThrottleDevice {
  // The last colon: device paths such as /dev/disk/by-path/pci-0000:00:1f.2 contain colons, rates never do.
  const at = value.lastIndexOf(':');
  const device = at < 0 ? '' : value.slice(0, at);
  const rateText = at < 0 ? '' : value.slice(at + 1);
  if (!device || !rateText) throw badArgument(flag, value, 'expected <device-path>:<rate>, e.g. /dev/sda:1mb');
  if (!path.isAbsolute(device)) throw badArgument(flag, value, `${device} is not an absolute path`);
  const rate = parseSize(rateText, flag);
  if (rate <= 0) throw badArgument(flag, value, 'the rate must be a positive number of bytes per second (optional unit kb, mb or gb)');
  let st;
  try {
    st = statSync(device, { bigint: true });
  } catch (err) {
    throw badArgument(flag, value, `cannot use ${device}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!st.isBlockDevice()) throw badArgument(flag, value, `${device} is not a block device`);
  return { ...devMajorMinor(st.rdev), rate };
}

/** --cpu-period: Docker's range, 1 ms to 1 s (0: the kernel's). */
function parseCpuPeriod(value: string): number {
  const period = parseInteger(value, '--cpu-period');
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --cpu-period ${period}: CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)`);
  }
  return period;
}

/** --cpu-quota: at least 1 ms; -1 (or any negative, as Docker) is unlimited, 0 the kernel's. */
function parseCpuQuota(value: string): number {
  const quota = parseInteger(value, '--cpu-quota');
  if (quota > 0 && quota < 1000) throw new TsrunError('INVALID_ARGUMENT', `invalid --cpu-quota ${quota}: CPU cfs quota can not be less than 1ms (i.e. 1000)`);
  return quota < 0 ? -1 : quota;
}

/** --cpuset-mems: a list of NUMA nodes, each one the host has (/sys/devices/system/node/online when readable). */
function parseCpusetMems(value: string, onlineNodes: string | null): string {
  const v = value.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw badArgument('--cpuset-mems', value, `invalid list '${value}' (use a form such as 0-1,3)`);
  if (onlineNodes === null) return v;
  const online = expandList(onlineNodes.trim());
  for (const n of expandList(v)) {
    if (!online.has(n)) {
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `invalid --cpuset-mems ${JSON.stringify(value)}: Requested memory nodes are not available - requested ${v}, available: ${onlineNodes.trim()}`,
      );
    }
  }
  return v;
}

function expandList(list: string): Set<number> {
  const out = new Set<number>();
  for (const part of list.split(',').filter(Boolean)) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    for (let n = lo; n <= hi!; n++) out.add(n);
  }
  return out;
}

function readOnlineNodes(): string | null {
  try {
    return readFileSync('/sys/devices/system/node/online', 'utf8');
  } catch {
    return null;
  }
}

/** --blkio-weight: 10 to 1000, as Docker (0: none). */
function parseBlkioWeight(value: string): number | undefined {
  const weight = parseInteger(value, '--blkio-weight');
  if (weight === 0) return undefined;
  if (weight < 10 || weight > 1000) throw new TsrunError('INVALID_ARGUMENT', `invalid --blkio-weight ${weight}: Range of blkio weight is from 10 to 1000`);
  return weight;
}

/**
 * The OCI linux.resources for Docker-style flags, or undefined when none
 * sets a limit. Device rules are not here: buildSpec adds the defaults.
 */
export function parseResourceFlags(flags: ResourceFlags, hostCpus: number = os.availableParallelism(), opts: ResourceParseOptions = {}): LinuxResources | undefined {
  const out: LinuxResources = {};
  const memory = parseMemory(flags, opts);
  if (memory) out.memory = memory;

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const quota = flags.cpus === undefined ? undefined : parseCpus(flags.cpus, hostCpus);
  const cfsPeriod = flags.cpuPeriod === undefined ? 0 : parseCpuPeriod(flags.cpuPeriod);
  const cfsQuota = flags.cpuQuota === undefined ? 0 : parseCpuQuota(flags.cpuQuota);
  if (quota && cfsPeriod) throw new TsrunError('INVALID_ARGUMENT', 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (quota && cfsQuota) throw new TsrunError('INVALID_ARGUMENT', 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (quota) Object.assign(cpu, quota);
  if (cfsPeriod) cpu.period = cfsPeriod;
  if (cfsQuota) cpu.quota = cfsQuota;
  const shares = flags.cpuShares === undefined ? undefined : parseShares(flags.cpuShares);
  if (shares !== undefined) cpu.shares = shares;
  if (flags.cpusetCpus !== undefined && flags.cpusetCpus.trim() !== '') cpu.cpus = parseCpuset(flags.cpusetCpus, hostCpus);
  if (flags.cpusetMems !== undefined && flags.cpusetMems.trim() !== '') cpu.mems = parseCpusetMems(flags.cpusetMems, readOnlineNodes());
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (flags.pidsLimit !== undefined) {
    const limit = parseInteger(flags.pidsLimit, '--pids-limit');
    if (limit > 0) out.pids = { limit }; // 0 and -1: unlimited, the kernel default
    else if (opts.update) out.pids = { limit: -1 }; // lifts a limit the container has
  }

  const read = (flags.deviceReadBps ?? []).map((v) => parseThrottle(v, '--device-read-bps'));
  const write = (flags.deviceWriteBps ?? []).map((v) => parseThrottle(v, '--device-write-bps'));
  const weight = flags.blkioWeight === undefined ? undefined : parseBlkioWeight(flags.blkioWeight);
  if (read.length || write.length || weight) {
    out.blockIO = {
      ...(weight ? { weight } : {}),
      ...(read.length ? { throttleReadBpsDevice: read } : {}),
      ...(write.length ? { throttleWriteBpsDevice: write } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
