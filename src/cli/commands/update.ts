// `tsrun update [OPTIONS] CONTAINER...` (and `container update`): new
// limits for containers, Docker's flags; a running container's cgroup
// changes now, a stopped one's at its next start. The work is
// Containers.update; the flags are parsed once, before any container.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { forEachRef, tsrunFor } from '../context.js';
import { writeFd } from '../write.js';

interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  restart?: string;
}

export function registerUpdate(program: Command): void {
  program
    .command('update')
    .description('update the resource limits (and restart policy) of containers')
    .argument('<container...>')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 32m, 1g)')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--cpus <number>', 'number of CPUs (e.g. 0.5)')
    .option('-c, --cpu-shares <weight>', 'relative CPU weight')
    .option('--cpu-period <us>', 'CPU CFS period in microseconds')
    .option('--cpu-quota <us>', 'CPU CFS quota in microseconds (-1: unlimited)')
    .option('--cpuset-cpus <list>', 'CPUs the container may use (e.g. 0-1,3)')
    .option('--cpuset-mems <list>', 'memory nodes the container may use (e.g. 0-1)')
    .option('--pids-limit <n>', 'maximum number of processes (-1: unlimited)')
    .option('--blkio-weight <weight>', 'relative block IO weight (10-1000)')
    .option('--restart <policy>', 'restart policy: no, always, on-failure[:N], unless-stopped')
    .action(async (refs: string[], flags: UpdateFlags, cmd: Command) => {
      const { restart, ...limitFlags } = flags;
      const given = Object.fromEntries(Object.entries(limitFlags).filter(([, v]) => v !== undefined)) as Record<string, string>;
      if (!Object.keys(given).length && restart === undefined) {
        throw new TsrunError('INVALID_ARGUMENT', 'you must provide one or more flags when using this command');
      }
      const { parseResourceFlags } = await import('../../spec/resources.js');
      const resources = parseResourceFlags(given, undefined, { update: true }) ?? {};
      const { parseRestartPolicy } = await import('../../runtime/restart-policy.js');
      const policy = restart === undefined ? undefined : parseRestartPolicy(restart);
      const c = (await tsrunFor(cmd)).containers;
      const warn = (m: string) => writeFd(2, `WARNING: ${m}\n`);
      await forEachRef(refs, async (ref) => {
        const id = await c.resolve(ref);
        if (Object.keys(given).length) await c.update(id, { resources, limits: given }, warn);
        if (policy) await c.setRestartPolicy(id, policy);
        return ref;
      });
    });
}
