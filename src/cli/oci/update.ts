// `update` (new cgroup limits for a live container) and `events` (its
// cgroup usage as runc's JSON lines), both over the container's cgroup.
// The limits are translated by the same cgroups code `create` uses
// (v1Writes/v2Writes), so a value means the same at create and at update.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { TsrunError } from '../../errors.js';
import type { Cgroup } from '../../cgroups/index.js';
import type { ControlWrite } from '../../cgroups/resources.js';
import type { Engine, EngineRecord } from '../../runtime/engine.js';
import type { LinuxResources } from '../../spec/oci.js';
import { engineWith, globals, log, out } from './context.js';

/** The container, refused as runc refuses when it has stopped. */
async function liveContainer(cmd: Command, id: string, stoppedMessage: string): Promise<{ engine: Engine; rec: EngineRecord; cg: Cgroup }> {
  const engine = await engineWith(cmd, id);
  const rec = await engine.load(id);
  const st = await engine.state(id, rec);
  if (st.status === 'stopped') throw new TsrunError('INVALID_STATE', stoppedMessage);
  return { engine, rec, cg: engine.cgroup(rec) };
}

// Docker's (go-units RAMInBytes) sizes: 512, 64k, 100m, 1.5g (powers of 1024).
function bytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`invalid size ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' '));
}

function int(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not an integer`);
  return Number(v);
}

interface UpdateFlags {
  resources?: string;
  memory?: number;
  memoryReservation?: number;
  memorySwap?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShare?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  kernelMemory?: number;
  kernelMemoryTcp?: number;
}

function readResources(file: string): LinuxResources & Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read --resources ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    const r = JSON.parse(text) as unknown;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error('not a JSON object');
    return r as LinuxResources & Record<string, unknown>;
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `--resources ${file}: not a linux.resources JSON object: ${(cause as Error).message}`, { cause });
  }
}

/** --resources, with runc's flags laid over it (runc: a flag wins over the file). */
export function resourcesFrom(flags: UpdateFlags): LinuxResources & Record<string, unknown> {
  const r: LinuxResources & Record<string, unknown> = flags.resources ? readResources(flags.resources) : {};
  const set = <K extends 'memory' | 'cpu' | 'pids'>(key: K, field: string, value: unknown) => {
    if (value === undefined) return;
    r[key] = { ...(r[key] as object), [field]: value } as never;
  };
  set('memory', 'limit', flags.memory);
  set('memory', 'reservation', flags.memoryReservation);
  set('memory', 'swap', flags.memorySwap);
  set('memory', 'kernel', flags.kernelMemory);
  set('memory', 'kernelTCP', flags.kernelMemoryTcp);
  set('cpu', 'period', flags.cpuPeriod);
  set('cpu', 'quota', flags.cpuQuota);
  set('cpu', 'shares', flags.cpuShare);
  set('cpu', 'cpus', flags.cpusetCpus);
  set('cpu', 'mems', flags.cpusetMems);
  set('cpu', 'realtimePeriod', flags.cpuRtPeriod);
  set('cpu', 'realtimeRuntime', flags.cpuRtRuntime);
  set('pids', 'limit', flags.pidsLimit);
  if (flags.blkioWeight !== undefined) r.blockIO = { ...r.blockIO, weight: flags.blkioWeight } as LinuxResources['blockIO'];
  return r;
}

/**
 * The fields runc's update sets that tsrun's cgroups code cannot write yet:
 * refused by name rather than dropped. Kernel memory limits are ignored, as
 * runc 1.1 ignores them (Linux 6.x has no kmem limits).
 */
function unsupportedFields(r: LinuxResources & Record<string, unknown>): string[] {
  const cpu = (r.cpu ?? {}) as Record<string, unknown>;
  const blockIO = (r.blockIO ?? {}) as Record<string, unknown>;
  const bad: string[] = [];
  if (blockIO.weight) bad.push('blockIO.weight (--blkio-weight)');
  if (cpu.realtimePeriod) bad.push('cpu.realtimePeriod (--cpu-rt-period)');
  if (cpu.realtimeRuntime) bad.push('cpu.realtimeRuntime (--cpu-rt-runtime)');
  if (r.unified && Object.keys(r.unified as object).length) bad.push('unified');
  return bad;
}

async function update(cmd: Command, id: string, flags: UpdateFlags): Promise<void> {
  const resources = resourcesFrom(flags);
  const bad = unsupportedFields(resources);
  if (bad.length) throw new TsrunError('UNSUPPORTED', `update: tsrun-oci cannot change ${bad.join(', ')}`);
  const mem = resources.memory as Record<string, unknown> | undefined;
  if (mem?.kernel || mem?.kernelTCP) log(globals(cmd), 'warning', 'kernel memory limits are not supported by the kernel and are ignored');
  // Device rules are not changed by update (runc's update leaves them too).
  const { devices: _devices, ...limits } = resources;
  const { cg } = await liveContainer(cmd, id, 'container not running');
  const [{ v1Writes, v2Writes, missingFileMessage }, { writeControl }, { native }] = await Promise.all([
    import('../../cgroups/resources.js'),
    import('../../cgroups/fsutil.js'),
    import('../../native/binding.js'),
  ]);
  let dirOf: (controller: string) => string | undefined;
  let writes: ControlWrite[];
  if (cg.mode === 'v2') {
    const { CgroupV2 } = await import('../../cgroups/v2.js');
    const dir = (cg as InstanceType<typeof CgroupV2>).dir;
    dirOf = () => dir;
    writes = v2Writes(limits);
  } else {
    const { CgroupV1 } = await import('../../cgroups/v1.js');
    const dirs = (cg as InstanceType<typeof CgroupV1>).dirs as Record<string, string | undefined>;
    dirOf = (controller) => dirs[controller];
    // memory+swap may never go below the memory limit: the order depends on what is set now.
    const current = dirs.memory ? Number(readFileSync(join(dirs.memory, 'memory.limit_in_bytes'), 'utf8').trim()) : NaN;
    writes = Number.isFinite(current) ? v1Writes(limits, current) : v1Writes(limits);
  }
  const target = (w: { controller: string; file: string }) => {
    const dir = dirOf(w.controller);
    return dir ? join(dir, w.file) : '';
  };
  // Every file is checked before the first write, so a refusal changes nothing.
  for (const w of writes) {
    if (!w.optional && !existsSync(target(w))) throw new TsrunError('CGROUP_UNAVAILABLE', missingFileMessage(w));
  }
  for (const w of writes) {
    if (w.optional && !existsSync(target(w))) continue;
    writeControl({ native }, target(w), w.value, w.flag);
  }
}

// Go durations as runc's --interval takes them: 5s, 500ms, 1m30s.
function duration(v: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(v))) {
    ms += Number(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  if (!v || end !== v.length || ms <= 0) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(v)} (e.g. 5s, 500ms)`);
  return ms;
}

const V1_UNLIMITED = 9223372036854771712n;
const V2_UNLIMITED = 18446744073709551615n;

async function readNum(dir: string | undefined, file: string): Promise<Record<string, number>> {
  if (!dir) return {};
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(join(dir, file), 'utf8').catch(() => '');
  const outp: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) outp[k] = Number(v);
  }
  return outp;
}

/** runc's types.Stats (libcontainer/../types/events.go) for what tsrun's cgroups code reads. */
export async function statsData(cg: Cgroup): Promise<Record<string, unknown>> {
  const [s, cpuStat] = await Promise.all([cg.stats(), cg.cpuStat().catch(() => ({}) as Record<string, number>)]);
  let kernel = 0;
  let user = 0;
  let throttledTime = cpuStat.throttled_time ?? 0;
  if (cg.mode === 'v2') {
    kernel = (cpuStat.system_usec ?? 0) * 1000;
    user = (cpuStat.user_usec ?? 0) * 1000;
    throttledTime = (cpuStat.throttled_usec ?? 0) * 1000;
  } else {
    // cpuacct.stat counts USER_HZ (100 per second) ticks.
    const dirs = (cg as unknown as { dirs: Record<string, string | undefined> }).dirs;
    const acct = await readNum(dirs.cpuacct, 'cpuacct.stat');
    kernel = (acct.system ?? 0) * 1e7;
    user = (acct.user ?? 0) * 1e7;
  }
  const omitZero = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0));
  const unlimited = cg.mode === 'v2' ? V2_UNLIMITED : V1_UNLIMITED;
  return {
    cpu: {
      usage: { ...omitZero({ total: s.cpuUsageNs }), kernel, user },
      throttling: omitZero({ periods: cpuStat.nr_periods ?? 0, throttled_periods: cpuStat.nr_throttled ?? 0, throttled_time: throttledTime }),
    },
    cpuset: {},
    memory: {
      usage: { limit: s.memoryLimit ?? unlimited, ...omitZero({ usage: s.memoryUsage }), failcnt: 0 },
      swap: { limit: 0, failcnt: 0 },
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
    },
    pids: omitZero({ current: s.pids, limit: s.pidsLimit ?? 0 }),
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** One JSON line; 64-bit limits (bigint) printed as the exact integers Go prints. */
export function eventLine(type: string, id: string, data?: unknown): string {
  const json = JSON.stringify({ type, id, ...(data !== undefined ? { data } : {}) }, (_k, v: unknown) =>
    typeof v === 'bigint' ? `\u0000${v}\u0000` : v,
  );
  return `${json.replace(/"\\u0000(\d+)\\u0000"/g, '$1')}\n`;
}

export function registerUpdate(program: Command): void {
  program
    .command('update')
    .description('update the cgroup limits of a running container')
    .argument('<container-id>')
    .option('-r, --resources <file>', 'path to a linux.resources JSON file, or - for stdin')
    .option('--memory <bytes>', 'memory limit (in bytes, or with k, m, g)', bytes)
    .option('--memory-reservation <bytes>', 'memory soft limit', bytes)
    .option('--memory-swap <bytes>', 'memory + swap limit (-1: unlimited)', (v) => (v === '-1' ? -1 : bytes(v)))
    .option('--kernel-memory <bytes>', 'ignored, as by runc (no kernel memory limits on Linux 6)', bytes)
    .option('--kernel-memory-tcp <bytes>', 'ignored, as by runc', bytes)
    .option('--cpu-period <us>', 'CPU CFS period', int)
    .option('--cpu-quota <us>', 'CPU CFS quota (-1: unlimited)', int)
    .option('--cpu-share <n>', 'CPU shares (relative weight)', int)
    .option('--cpu-rt-period <us>', 'CPU realtime period (not supported)', int)
    .option('--cpu-rt-runtime <us>', 'CPU realtime runtime (not supported)', int)
    .option('--cpuset-cpus <list>', 'CPUs to run on (0-3, 0,1)')
    .option('--cpuset-mems <list>', 'memory nodes to use (0-3, 0,1)')
    .option('--pids-limit <n>', 'maximum number of pids (-1: unlimited)', int)
    .option('--blkio-weight <n>', 'block IO weight (not supported)', int)
    .option('--l3-cache-schema <s>', 'Intel RDT (not supported)')
    .option('--mem-bw-schema <s>', 'Intel RDT (not supported)')
    .action(async (id: string, flags: UpdateFlags & { l3CacheSchema?: string; memBwSchema?: string }, cmd: Command) => {
      if (flags.l3CacheSchema || flags.memBwSchema) throw new TsrunError('UNSUPPORTED', 'update: tsrun-oci has no Intel RDT support');
      await update(cmd, id, flags);
    });

  program
    .command('events')
    .description("display the container's cgroup usage (every --interval, with OOM events) as JSON lines")
    .argument('<container-id>')
    .option('--interval <duration>', 'time between stats lines', duration, 5000)
    .option('--stats', 'print one stats line and exit')
    .action(async (id: string, flags: { interval: number; stats?: boolean }, cmd: Command) => {
      const { engine, rec, cg } = await liveContainer(cmd, id, `container with id ${id} is not running`);
      if (flags.stats) {
        out(eventLine('stats', id, await statsData(cg)));
        return;
      }
      // Until the container stops: stats every interval, an "oom" line whenever the OOM killer struck.
      let ooms = await cg.oomKillCount().catch(() => 0);
      let next = 0;
      for (;;) {
        const st = await engine.state(id, rec).catch(() => null);
        if (!st || st.status === 'stopped') return;
        const n = await cg.oomKillCount().catch(() => ooms);
        if (n > ooms) out(eventLine('oom', id));
        ooms = n;
        if (Date.now() >= next) {
          out(eventLine('stats', id, await statsData(cg).catch(() => ({}))));
          next = Date.now() + flags.interval;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, flags.interval)));
      }
    });

  // runc's checkpoint/restore need CRIU; tsrun-oci has neither.
  for (const verb of ['checkpoint', 'restore']) {
    program
      .command(verb)
      .description(`not supported: tsrun-oci has no ${verb === 'checkpoint' ? 'checkpointing' : 'restoring'} (CRIU)`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new TsrunError('UNSUPPORTED', `"${verb}" is not supported by tsrun-oci (it has no CRIU support)`);
      });
  }
}
