// The options `run` and `create` share, and their translation into a
// CreateRequest for core.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { PullEvent } from '../image/pull.js';
import type { NetworkFlags } from '../runtime/container-network.js';
import type { CreateRequest } from '../runtime/containers.js';
import type { ResourceFlags } from '../spec/resources.js';
import type { ConfinementFlags } from '../spec/security.js';
import { collect } from './options.js';
import { runConfigRequest, takeBackBoolWords, type RunConfigFlags } from './run-flags.js';
import { addHealthLogOptions, healthLogRequest, type HealthLogFlags } from './health-log-flags.js';

export interface ContainerFlags extends ResourceFlags, NetworkFlags, ConfinementFlags, HealthLogFlags, RunConfigFlags {
  rootfs?: string;
  pull?: string;
  platform?: string;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  restart?: string;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  init?: boolean;
  readOnly?: boolean;
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  volumesFrom?: string[];
  cgroupParent?: string;
  userns?: string;
  uidmap?: string[];
  gidmap?: string[];
  label?: string[];
  labelFile?: string[];
  annotation?: string[];
}

export function addContainerOptions(cmd: Command): Command {
  return addHealthLogOptions(cmd)
    .option('--rootfs <dir>', 'run from this root filesystem directory instead of an image (every argument is then the command)')
    .option('--pull <policy>', 'pull the image before running: always, missing or never', 'missing')
    .option('--platform <os/arch[/variant]>', 'platform to pull when the image is missing')
    .option('-i, --interactive', 'keep stdin open and attached')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--rm', 'remove the container when it exits')
    .option('--restart <policy>', 'restart policy: no (default), on-failure[:max-retries], always, unless-stopped')
    .option('--name <name>', 'container name')
    .option('-e, --env <KEY[=VALUE]>', 'set an environment variable (repeatable)', collect)
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid, with an optional group')
    .option('-h, --hostname <name>', 'container host name')
    .option('--entrypoint <cmd>', 'override the default entrypoint')
    .option('--init', 'run a minimal init as PID 1 that forwards signals and reaps zombies')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-v, --volume <[src:]dst[:opts]>', 'bind a host path, or mount a named or anonymous volume (repeatable)', collect)
    .option('--mount <type=..,source=..,target=..>', 'attach a bind, volume or tmpfs mount (repeatable)', collect)
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs (e.g. /tmp:size=64m,mode=1777) (repeatable)', collect)
    .option('--volumes-from <container[:ro|rw]>', "mount another container's volumes and binds (repeatable)", collect)
    .option('-m, --memory <bytes>', 'memory limit (e.g. 32m, 1g)')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--cpus <number>', 'number of CPUs (e.g. 0.5)')
    .option('-c, --cpu-shares <weight>', 'relative CPU weight')
    .option('--cpuset-cpus <list>', 'CPUs the container may use (e.g. 0-1,3)')
    .option('--pids-limit <n>', 'maximum number of processes (-1: unlimited)')
    .option('--device-read-bps <dev:rate>', 'limit read rate from a block device (repeatable)', collect)
    .option('--device-write-bps <dev:rate>', 'limit write rate to a block device (repeatable)', collect)
    .option('--memory-reservation <bytes>', 'memory soft limit (v1 memory.soft_limit_in_bytes, v2 memory.low)')
    .option('--cpu-period <us>', 'CPU CFS period in microseconds (1000-1000000)')
    .option('--cpu-quota <us>', 'CPU CFS quota in microseconds per period (-1: unlimited)')
    .option('--cpuset-mems <list>', 'memory nodes the container may use (e.g. 0-1)')
    .option('--blkio-weight <weight>', 'relative block IO weight (10-1000; ignored with a warning where the host has none)')
    .option('--oom-kill-disable [bool]', 'do not let the OOM killer kill the container (cgroup v1 only)')
    .option('--cgroup-parent <path>', 'parent cgroup for the container (default: tsrun)')
    .option('--net, --network <mode>', 'bridge (default), a network NAME, none, host, or container:NAME')
    .option('-p, --publish <[ip:][hostPort:]containerPort[/proto]>', "publish a container's port on the host (repeatable)", collect)
    .option('-P, --publish-all', "publish every port the image EXPOSEs on a random host port")
    .option('--ip <address>', 'IPv4 address on a user-defined network')
    .option('--mac-address <mac>', "MAC address of the container's interface")
    .option('--network-alias <alias>', 'another name containers on the same user-defined network resolve (repeatable)', collect)
    .option('--add-host <host:ip>', 'add a line to /etc/hosts (repeatable)', collect)
    .option('--dns <ip>', 'a nameserver for /etc/resolv.conf (repeatable)', collect)
    .option('--dns-search <domain>', 'a search domain for /etc/resolv.conf (repeatable)', collect)
    .option('--dns-option <option>', 'an options entry for /etc/resolv.conf (repeatable)', collect)
    .option('--privileged', 'every capability and host device, no seccomp filter, no masked or read-only paths')
    .option('--cap-add <cap>', 'add a capability (e.g. NET_ADMIN, or ALL) (repeatable)', collect)
    .option('--cap-drop <cap>', 'drop a capability (e.g. CHOWN, or ALL) (repeatable)', collect)
    .option('--security-opt <opt>', 'seccomp=unconfined|PROFILE.json, no-new-privileges[=false], apparmor=..., label=... (repeatable)', collect)
    .option('--device <host[:container][:rwm]>', 'give the container a host device (repeatable)', collect)
    .option('--device-cgroup-rule <rule>', "allow devices in the device cgroup, e.g. 'c 1:3 rwm' (repeatable)", collect)
    .option('--ulimit <name=soft[:hard]>', 'a resource limit, e.g. nofile=1024:2048 (repeatable)', collect)
    .option('--shm-size <bytes>', 'size of /dev/shm (default 64m)')
    .option('--sysctl <key=value>', 'a namespaced sysctl: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* (repeatable)', collect)
    .option('--group-add <group>', 'an additional group, by name (from the image) or id (repeatable)', collect)
    .option('--oom-score-adj <n>', "the container's OOM score adjustment (-1000 to 1000)")
    .option('--cgroupns <mode>', 'cgroup namespace: private (default) or host')
    .option('--ipc <mode>', 'IPC namespace: private (default), shareable, host, none, or container:NAME')
    .option('--pid <mode>', 'PID namespace: host, or container:NAME')
    .option('--uts <mode>', "UTS namespace: host (the host's name)")
    .option('--userns <mode>', 'user namespace: host (default) or auto[:size=N] (ids from the subordinate ids of the user "tsrun")')
    .option('--uidmap <container:host:size>', 'run in a user namespace mapping these container uids to host uids (repeatable)', collect)
    .option('--gidmap <container:host:size>', 'run in a user namespace mapping these container gids to host gids (repeatable)', collect)
    .option('-l, --label <key[=value]>', 'set a label on the container (repeatable)', collect)
    .option('--label-file <file>', 'read labels from a file of key=value lines (repeatable)', collect)
    .option('--annotation <key=value>', 'add an OCI annotation to the container (repeatable)', collect)
    .helpOption('--help', 'display help for command')
    .passThroughOptions();
}

/** What the parsing needs from its caller: the CLI's process, or the API service's request. */
export interface CreateRequestContext {
  /** Where relative paths (--rootfs, a seccomp profile file) are taken from. */
  cwd: string;
  /** Hears the image pull's progress (a pull happens only with --pull missing or always). */
  onPullEvent?: (e: PullEvent) => void;
  /** The terminal's size for a -t container. */
  consoleSize?: { rows: number; cols: number };
  /** Hears Docker's warnings (default: `WARNING: ...` on stderr). */
  onWarning?: (message: string) => void;
}

/**
 * `run`/`create` take IMAGE [COMMAND [ARG...]], or with --rootfs only the
 * command. Image pulls report to stderr, so stdout stays the container's.
 */
export async function toCreateRequest(flags: ContainerFlags, args: string[]): Promise<CreateRequest> {
  args = takeBackBoolWords(flags as Record<string, unknown>, { oomKillDisable: '--oom-kill-disable', sigProxy: '--sig-proxy' }, args);
  const image = flags.rootfs === undefined ? args[0] : undefined;
  const pull = flags.pull ?? 'missing';
  const { pullReporter } = await import('./pull-progress.js');
  // process.stdout and stderr are touched only when there is something to
  // say: their first use loads Node's stream modules, which a create of an
  // image already here never needs.
  let report: ReturnType<typeof pullReporter> | undefined;
  const onPullEvent = (e: PullEvent) => (report ??= pullReporter(process.stderr, pull === 'always' ? undefined : `Unable to find image '${image}' locally`))(e);
  const out = flags.tty ? process.stdout : undefined;
  return containerRequest(flags, args, {
    cwd: process.cwd(), onPullEvent, consoleSize: out?.isTTY ? { rows: out.rows, cols: out.columns } : undefined,
  });
}

/**
 * The flags (as parsed, their bool words taken back) and IMAGE [COMMAND
 * [ARG...]] → core's CreateRequest, every value checked before anything is
 * pulled or made. Shared by the CLI (toCreateRequest) and the API service,
 * which turns Docker's create body into these flags.
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
