// `update` (new cgroup limits for a live container) and `events` (its
// cgroup usage as runc's JSON lines): runc's flags parsed here, the work
// done by Engine.update / Engine.stats / Engine.events.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { FieldNames } from '../../cgroups/index.js';
import { TsrunError } from '../../errors.js';
import type { LinuxResources } from '../../spec/oci.js';
import { engineWith, globals, log, out } from './context.js';

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

// Go durations as runc's --interval takes them: 5s, 500ms, 1m30s.
function duration(v: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy; // µ escaped: the bundle stays ASCII
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(v))) {
    ms += Number(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  if (!v || end !== v.length || ms <= 0) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(v)} (e.g. 5s, 500ms)`);
  return ms;
}

/** runc's update flag for each field, where it has one; messages say "memory.limit (--memory)". */
const RUNC_FLAGS: Partial<FieldNames> = {
  memory: '--memory',
  swap: '--memory-swap',
  reservation: '--memory-reservation',
  kernel: '--kernel-memory',
  kernelTCP: '--kernel-memory-tcp',
  quota: '--cpu-quota',
  period: '--cpu-period',
  shares: '--cpu-share',
  cpus: '--cpuset-cpus',
  mems: '--cpuset-mems',
  rtPeriod: '--cpu-rt-period',
  rtRuntime: '--cpu-rt-runtime',
  pids: '--pids-limit',
  blkioWeight: '--blkio-weight',
};

async function fieldNames(): Promise<FieldNames> {
  const { FIELD_PATHS } = await import('../../cgroups/resources.js');
  const names = { ...FIELD_PATHS };
  for (const [k, flag] of Object.entries(RUNC_FLAGS)) names[k as keyof FieldNames] = `${FIELD_PATHS[k as keyof FieldNames]} (${flag})`;
  return names;
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
  l3CacheSchema?: string;
  memBwSchema?: string;
}

function readResources(file: string): LinuxResources {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read --resources ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    const r = JSON.parse(text) as unknown;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error('not a JSON object');
    return r as LinuxResources;
  } catch (cause) {
    throw new TsrunError('INVALID_ARGUMENT', `--resources ${file}: not a linux.resources JSON object: ${(cause as Error).message}`, { cause });
  }
}

/** --resources, with runc's flags laid over it (runc: a flag wins over the file). */
function resourcesFrom(flags: UpdateFlags): LinuxResources {
  const r: Record<string, Record<string, unknown>> = (flags.resources ? readResources(flags.resources) : {}) as never;
  const set = (key: string, field: string, value: unknown) => {
    if (value !== undefined) r[key] = { ...r[key], [field]: value };
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
  set('blockIO', 'weight', flags.blkioWeight);
  return r as LinuxResources;
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
    .option('--blkio-weight <n>', 'block IO weight (skipped with a warning where the host has no weight file)', int)
    .option('--l3-cache-schema <s>', 'Intel RDT (not supported)')
    .option('--mem-bw-schema <s>', 'Intel RDT (not supported)')
    .action(async (id: string, flags: UpdateFlags, cmd: Command) => {
      if (flags.l3CacheSchema || flags.memBwSchema) throw new TsrunError('UNSUPPORTED', 'update: tsrun-oci has no Intel RDT support');
      const resources = resourcesFrom(flags);
      const engine = await engineWith(cmd, id);
      for (const w of await engine.update(id, resources, await fieldNames())) log(globals(cmd), 'warning', w);
    });

  program
    .command('events')
    .description("display the container's cgroup usage (every --interval, with OOM events) as JSON lines")
    .argument('<container-id>')
    .option('--interval <duration>', 'time between stats lines', duration, 5000)
    .option('--stats', 'print one stats line and exit')
    .action(async (id: string, flags: { interval: number; stats?: boolean }, cmd: Command) => {
      const engine = await engineWith(cmd, id);
      if (flags.stats) {
        out(eventLine('stats', id, await engine.stats(id)));
        return;
      }
      for await (const e of engine.events(id, { intervalMs: flags.interval })) {
        out(e.type === 'stats' ? eventLine('stats', id, e.data) : eventLine('oom', id));
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
