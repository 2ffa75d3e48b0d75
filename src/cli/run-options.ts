// The options `run` and `create` share, declared for commander, and
// toCreateRequest: the CLI's call of flags/container-request.ts with its
// process (cwd, stderr, terminal size).
import type { Command } from 'commander';
import type { ContainerFlags } from '../flags/container-flags.js';
import type { PullEvent } from '../image/pull.js';
import type { CreateRequest } from '../runtime/containers.js';
import { collect } from './options.js';
import { takeBackBoolWords } from './run-flags.js';
import { addHealthLogOptions } from './health-log-flags.js';
import { writeFd } from './write.js';

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

/**
 * `run`/`create` take IMAGE [COMMAND [ARG...]], or with --rootfs only the
 * command. Image pulls report to stderr, so stdout stays the container's.
 */
export async function toCreateRequest(flags: ContainerFlags, args: string[]): Promise<CreateRequest> {
  args = takeBackBoolWords(flags as Record<string, unknown>, { oomKillDisable: '--oom-kill-disable', sigProxy: '--sig-proxy' }, args);
  const image = flags.rootfs === undefined ? args[0] : undefined;
  const pull = flags.pull ?? 'missing';
  // The reporter and process.stderr are loaded only when there is something
  // to say (stderr's first use loads Node's stream modules): a create of an
  // image already here needs neither. A pull's first event is 'resolved',
  // after its manifest request, so events wait for nothing here.
  let report: Promise<(e: PullEvent) => void> | undefined;
  const onPullEvent = (e: PullEvent) => {
    report ??= import('./pull-progress.js').then(({ pullReporter }) => pullReporter(process.stderr, pull === 'always' ? undefined : `Unable to find image '${image}' locally`));
    void report.then((r) => r(e));
  };
  const out = flags.tty ? process.stdout : undefined;
  const { containerRequest } = await import('../flags/container-request.js');
  return containerRequest(flags, args, {
    cwd: process.cwd(), onPullEvent, consoleSize: out?.isTTY ? { rows: out.rows, cols: out.columns } : undefined,
    // Docker's client prints the daemon's warnings so, on stderr.
    onWarning: (message) => writeFd(2, `WARNING: ${message}\n`),
  });
}
