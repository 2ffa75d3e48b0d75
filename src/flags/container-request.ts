// The run/create flags (ContainerFlags) and IMAGE [COMMAND [ARG...]] → core's CreateRequest: the one parser behind the CLI's run/create and the API's create.
import { resolve } from 'node:path';
import type { PullEvent } from '../image/pull.js';
import type { CreateRequest } from '../runtime/containers.js';
import type { ResourceFlags } from '../spec/resources.js';
import type { ContainerFlags } from './container-flags.js';
import { healthLogRequest } from './health-log.js';
import { runConfigRequest } from './run-config.js';

/** What the parsing needs from its caller: the CLI's process, or the API service's request. */
export interface CreateRequestContext {
  /** Where relative paths (--rootfs, a seccomp profile file) are taken from. */
  cwd: string;
  /** Hears the image pull's progress (a pull happens only with --pull missing or always). */
  onPullEvent?: (e: PullEvent) => void;
  /** The terminal's size for a -t container. */
  consoleSize?: { rows: number; cols: number };
  /** Hears Docker's warnings (none heard without it; the CLI prints them as `WARNING: ...` on stderr). */
  onWarning?: (message: string) => void;
}

/**
 * The flags (as parsed, their bool words taken back) and IMAGE [COMMAND
 * [ARG...]] → core's CreateRequest, every value checked before anything is
 * pulled or made. Shared by the CLI (cli/run-options.ts toCreateRequest) and the API
 * service (api/container-create.ts), which turns Docker's create body into
 * these flags.
 */
export async function containerRequest(flags: ContainerFlags, args: string[], ctx: CreateRequestContext): Promise<CreateRequest> {
  const { parseResourceFlags } = await import('../spec/resources.js');
  const { TsrunError } = await import('../errors.js');
  let image: string | undefined;
  let command = args;
  if (flags.rootfs === undefined) {
    if (args.length === 0) throw new TsrunError('INVALID_ARGUMENT', '"run" and "create" require an image (or --rootfs DIR) and an optional command');
    [image, ...command] = args;
  }
  // One line, exit 125, nothing pulled or made (restart-policy.ts has Docker's messages).
  const restart = flags.restart === undefined ? undefined : await import('../runtime/restart-policy.js');
  const restartPolicy = restart?.parseRestartPolicy(flags.restart!);
  restart?.checkRestartWithAutoRemove(restartPolicy, flags.rm);
  const { parseMountFlags } = await import('../volume/flags.js');
  const mountFlags = parseMountFlags({ volume: flags.volume, mount: flags.mount, tmpfs: flags.tmpfs, volumesFrom: flags.volumesFrom });
  const pull = flags.pull ?? 'missing';
  if (pull !== 'always' && pull !== 'missing' && pull !== 'never') {
    throw new TsrunError('INVALID_ARGUMENT', `invalid --pull policy ${JSON.stringify(pull)}: use always, missing or never`);
  }
  const { parsePlatform } = await import('../image/platform.js');
  const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
  const limitFlags: ResourceFlags = {
    memory: flags.memory, memorySwap: flags.memorySwap, cpus: flags.cpus, cpuShares: flags.cpuShares,
    cpusetCpus: flags.cpusetCpus, pidsLimit: flags.pidsLimit, deviceReadBps: flags.deviceReadBps, deviceWriteBps: flags.deviceWriteBps,
    memoryReservation: flags.memoryReservation, cpuPeriod: flags.cpuPeriod, cpuQuota: flags.cpuQuota, cpusetMems: flags.cpusetMems,
    blkioWeight: flags.blkioWeight, oomKillDisable: flags.oomKillDisable,
  };
  const resources = parseResourceFlags(limitFlags);
  const { parseConfinementFlags } = await import('../spec/security.js');
  const confinement = parseConfinementFlags({
    privileged: flags.privileged, capAdd: flags.capAdd, capDrop: flags.capDrop, securityOpt: flags.securityOpt,
    device: flags.device, deviceCgroupRule: flags.deviceCgroupRule, ulimit: flags.ulimit, shmSize: flags.shmSize,
    sysctl: flags.sysctl, groupAdd: flags.groupAdd, oomScoreAdj: flags.oomScoreAdj, cgroupns: flags.cgroupns,
    ipc: flags.ipc, pid: flags.pid, uts: flags.uts,
  }, { cwd: ctx.cwd });
  // Checked before anything is pulled or created; the ids are allocated by create.
  const { parseUsernsMode, parseIdMapFlag } = await import('../spec/userns.js');
  parseUsernsMode(flags.userns);
  flags.uidmap?.forEach((v) => parseIdMapFlag(v, '--uidmap'));
  flags.gidmap?.forEach((v) => parseIdMapFlag(v, '--gidmap'));
  const { parseAnnotationFlags, parseLabelFlags } = await import('./labels.js');
  const labels = parseLabelFlags(flags.label, flags.labelFile);
  const annotations = parseAnnotationFlags(flags.annotation);
  const runConfig = await runConfigRequest(flags);
  const healthLog = await healthLogRequest(flags);
  return {
    ...(flags.rootfs !== undefined ? { rootfs: resolve(ctx.cwd, flags.rootfs) } : { image, pull, platform, onPullEvent: ctx.onPullEvent }),
    command,
    entrypoint: flags.entrypoint,
    env: flags.env,
    envFiles: flags.envFile,
    workdir: flags.workdir,
    user: flags.user,
    hostname: flags.hostname,
    tty: flags.tty,
    consoleSize: ctx.consoleSize,
    init: flags.init,
    readOnly: flags.readOnly,
    ...mountFlags,
    name: flags.name,
    openStdin: flags.interactive,
    autoRemove: flags.rm,
    ...(restartPolicy ? { restartPolicy } : {}),
    cgroupParent: flags.cgroupParent,
    network: flags.network,
    addHost: flags.addHost,
    dns: flags.dns,
    dnsSearch: flags.dnsSearch,
    dnsOption: flags.dnsOption,
    publish: flags.publish,
    publishAll: flags.publishAll,
    ip: flags.ip,
    macAddress: flags.macAddress,
    networkAlias: flags.networkAlias,
    resources,
    confinement,
    userns: { userns: flags.userns, uidmap: flags.uidmap, gidmap: flags.gidmap },
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
    ...runConfig,
    ...(ctx.onWarning ? { onWarning: ctx.onWarning } : {}),
    ...healthLog,
    limits: Object.fromEntries(Object.entries(limitFlags).filter(([, v]) => v !== undefined)),
  };
}
