// The Kubernetes path: containerd 1.6's CRI plugin (its own daemon, see
// helpers/containerd.ts) with two runtime handlers of type
// io.containerd.runc.v2, "runc" (the reference) and "tsrun" (options.BinaryName
// the tsrun-oci wrapper), driven by crictl (built from the cri-tools tarball
// by scripts/build-crictl.sh) the way kubelet drives a node:
// runp, create + start a container with seccomp RuntimeDefault and one
// Unconfined, logs, exec (streaming and sync), stop, rm, stopp, rmp; then
// nothing of the pod may be left (processes, shims, mounts, cgroups, netns,
// runtime state).
//
// Offline: the sandbox ("pause") image is a static binary built here from
// test/fixtures/cri/pause.c; both images go through `tsrun import` +
// `tsrun save` and `ctr -n k8s.io images import`.
//
// Network: CRI wants an address on eth0 of every pod that is not on the host
// network. The CNI config is one plugin, test/fixtures/cri/cni-pod-veth.mjs:
// a veth pair with both ends inside the pod's netns, its address from
// Debian's host-local IPAM (dataDir in the temp dir); CRI adds loopback
// itself (Debian's plugin). Nothing is made in the host's network namespace,
// and libcni's cache dir (/var/lib/cni) is shadowed in containerd's
// namespace by one in the temp dir.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CRI_TOOLS_TARBALL, containerdMissing, pidsWithArg, removeBase, runcWrapper, startContainerd, tsrunOciWrapper,
  type Containerd, type RuntimeWrapper,
} from '../helpers/containerd.js';
import { cgroupDirs, waitFor } from '../helpers/oci-bundle.js';
import { busybox, integrationSkipReason, repo, sandbox } from '../helpers/tsrun.js';

const BUSYBOX = 'localhost/tsrun-busybox:test';
const PAUSE = 'localhost/tsrun-pause:test';
const CNI_PLUGINS = '/usr/lib/cni';
// CRI enums as crictl's JSON carries them.
const SECCOMP = { RuntimeDefault: 0, Unconfined: 1 } as const;
const NS_MODE = { POD: 0, CONTAINER: 1 } as const;

const cgroupV2 = () => existsSync('/sys/fs/cgroup/cgroup.controllers');
/** cpu.shares (v1) or cpu.weight (v2) of the cgroup a pid is in. */
function cpuWeight(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  if (cgroupV2()) return readFileSync(`/sys/fs/cgroup${lines.find((l) => l.startsWith('0::'))!.slice(3)}/cpu.weight`, 'utf8').trim();
  const [, controllers, path] = lines.map((l) => l.split(':')).find(([, c]) => c?.split(',').includes('cpu'))!;
  return readFileSync(`/sys/fs/cgroup/${controllers}${path}/cpu.shares`, 'utf8').trim();
}

function skipReason(): string {
  const reason = integrationSkipReason('oci-cri');
  if (reason) return reason;
  const why =
    containerdMissing() ||
    (!existsSync(CRI_TOOLS_TARBALL) ? `no cri-tools tarball at ${CRI_TOOLS_TARBALL} (set TSRUN_CRI_TOOLS_TARBALL)` : '') ||
    (spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status !== 0 ? 'go is not installed (apt-get install golang-go)' : '') ||
    (spawnSync('sh', ['-c', 'command -v gcc'], { stdio: 'ignore' }).status !== 0 ? 'gcc is not installed (apt-get install gcc libc6-dev)' : '') ||
    (!['loopback', 'host-local'].every((p) => existsSync(join(CNI_PLUGINS, p)))
      ? `no CNI plugins in ${CNI_PLUGINS} (apt-get install containernetworking-plugins)`
      : '');
  if (why) process.stderr.write(`[skip] oci-cri: ${why}\n`);
  return why;
}
const skip = skipReason();

describe.skipIf(skip)('containerd 1.6 CRI plugin driven by crictl', () => {
  let base = '';
  let cd: Containerd | undefined;
  let crictlBin = '';
  const wrappers: Record<string, RuntimeWrapper> = {};
  const roots: Record<string, string> = {};
  const cgroupParent = `tsrun-cri-${process.pid}`;
  const timings: Array<[string, number]> = [];

  const crictl = async (args: string[], name = args[0]): Promise<Result> => {
    const t = performance.now();
    try {
      return (await execa(crictlBin, ['--config', join(base, 'crictl.yaml'), ...args], {
        reject: false,
        stdin: 'ignore',
      })) as unknown as Result;
    } finally {
      timings.push([name, performance.now() - t]);
    }
  };

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'tsrun-cri-'));
    // First build ~7 min on 2 busy cores; then cached (see the script).
    crictlBin = execFileSync('bash', [join(repo, 'scripts/build-crictl.sh'), CRI_TOOLS_TARBALL], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    writeFileSync(
      join(base, 'crictl.yaml'),
      [
        `runtime-endpoint: unix://${base}/containerd.sock`,
        `image-endpoint: unix://${base}/containerd.sock`,
        // Each call's deadline; the test measures what the calls take itself.
        'timeout: 90',
        'debug: false',
        'pull-image-on-create: false',
        '',
      ].join('\n'),
    );

    wrappers.runc = runcWrapper(base);
    wrappers.tsrun = tsrunOciWrapper(base);
    for (const name of Object.keys(wrappers)) roots[name] = join(base, `${name}-root`);

    // The images: busybox, and a pause image holding one static binary.
    const pauseDir = join(base, 'pause-rootfs');
    mkdirSync(pauseDir);
    execFileSync('gcc', ['-static', '-Os', '-s', '-o', join(pauseDir, 'pause'), join(repo, 'test/fixtures/cri/pause.c')]);
    const ts = sandbox();
    try {
      const tarOf = (dir: string) => execFileSync('tar', ['-C', dir, '--exclude=./.tsrun-fixture', '-c', '.'], { maxBuffer: 1 << 30 });
      for (const [dir, ref, change] of [
        [busybox(), BUSYBOX, 'CMD ["sh"]'],
        [pauseDir, PAUSE, 'ENTRYPOINT ["/pause"]'],
      ]) {
        const r = await ts.tsrun(['import', '-c', change, '-', ref], { input: tarOf(dir) });
        expect(r.stderr).toBe('');
      }
      const saved = await ts.tsrun(['save', '-o', join(base, 'images.tar'), BUSYBOX, PAUSE]);
      expect(saved.stderr).toBe('');
    } finally {
      ts.cleanup();
    }

    // CNI: loopback and host-local from Debian, our pod-veth plugin, one network.
    const cniBin = join(base, 'cni/bin');
    const cniConf = join(base, 'cni/net.d');
    mkdirSync(cniBin, { recursive: true });
    mkdirSync(cniConf, { recursive: true });
    for (const p of ['loopback', 'host-local']) symlinkSync(join(CNI_PLUGINS, p), join(cniBin, p));
    writeFileSync(
      join(cniBin, 'tsrun-pod-veth'),
      `#!/bin/sh\nexec '${process.execPath}' '${join(repo, 'test/fixtures/cri/cni-pod-veth.mjs')}' "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(cniConf, '10-tsrun-pod.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'tsrun-pod',
        plugins: [
          {
            type: 'tsrun-pod-veth',
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.123.45.0/24' }]], dataDir: join(base, 'cni/ipam') },
          },
        ],
      }),
    );

    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    const runtime = (name: string, wrapper: RuntimeWrapper) => [
      `[${cri}.containerd.runtimes.${name}]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.containerd.runtimes.${name}.options]`,
      `  BinaryName = "${wrapper.path}"`,
      `  Root = "${roots[name]}"`,
    ];
    cd = await startContainerd(base, {
      cri: true,
      shadow: ['/var/lib/cni'],
      extraConfig: [
        `[${cri}]`,
        `  sandbox_image = "${PAUSE}"`,
        // No CAP_SYS_RESOURCE here: nothing may get a lower oom_score_adj than containerd's.
        '  restrict_oom_score_adj = true',
        '  netns_mounts_under_state_dir = true',
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  enable_tls_streaming = false',
        `[${cri}.containerd]`,
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        ...runtime('runc', wrappers.runc),
        ...runtime('tsrun', wrappers.tsrun),
        `[${cri}.cni]`,
        `  bin_dir = "${cniBin}"`,
        `  conf_dir = "${cniConf}"`,
        '  max_conf_num = 1',
      ].join('\n'),
    });
    const im = await cd.ctr(['-n', 'k8s.io', 'images', 'import', join(base, 'images.tar')]);
    expect(im.stderr).toBe('');
    expect(im.exitCode).toBe(0);
    // CRI learns of imported images from containerd's events: wait for both.
    await waitFor(async () => {
      const r = await crictl(['images', '-q'], 'images');
      return String(r.stdout).split('\n').filter(Boolean).length >= 2;
    }, 20_000, 'CRI to list the imported images');
  }, 900_000);

  afterAll(async () => {
    if (cd) {
      // What kubelet would do for pods left by a failed case.
      if (crictlBin) await crictl(['rmp', '--all', '--force'], 'cleanup rmp');
      await cd.stop({
        runtimes: [
          { binary: 'runc', root: join(roots.runc, 'k8s.io') },
          { binary: wrappers.tsrun.path, root: join(roots.tsrun, 'k8s.io') },
        ],
        cgroupParents: [cgroupParent],
      });
    }
    // TSRUN_TEST_DEBUG keeps the temp dir (containerd.log, the runtimes' argv, configs and logs).
    if (base && process.env.TSRUN_TEST_DEBUG) process.stderr.write(`[debug] kept ${base}\n`);
    else if (base) removeBase(base);
    if (timings.length) process.stderr.write(`[cri] ${timings.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(2)}s`).join(', ')}\n`);
  }, 120_000);

  describe.each(['runc', 'tsrun'])('runtime handler %s', (handler) => {
    const podName = `pod-${handler}`;
    const podUid = `uid-${handler}-${process.pid}`;
    const podConfig = () => ({
      metadata: { name: podName, namespace: 'default', uid: podUid, attempt: 0 },
      hostname: podName,
      log_directory: join(base, 'pods', `default_${podName}_${podUid}`),
      labels: { 'io.kubernetes.pod.name': podName },
      linux: {
        cgroup_parent: `/${cgroupParent}/pod${podUid}`,
        security_context: {
          namespace_options: { network: NS_MODE.POD, pid: NS_MODE.CONTAINER, ipc: NS_MODE.POD },
          seccomp: { profile_type: SECCOMP.RuntimeDefault },
        },
      },
    });
    const containerConfig = (name: string, seccomp: number, command: string[]) => ({
      metadata: { name, attempt: 0 },
      image: { image: BUSYBOX },
      command,
      log_path: `${name}/0.log`,
      labels: { 'io.kubernetes.container.name': name },
      linux: {
        // BestEffort, as kubelet sets it (raising oom_score_adj needs no privilege).
        resources: { cpu_shares: 2, oom_score_adj: 1000 },
        security_context: {
          namespace_options: { network: NS_MODE.POD, pid: NS_MODE.CONTAINER, ipc: NS_MODE.POD },
          seccomp: { profile_type: seccomp },
        },
      },
    });
    const files = (name: string, obj: unknown) => {
      const f = join(base, `${handler}-${name}.json`);
      writeFileSync(f, JSON.stringify(obj, null, 2));
      return f;
    };

    let podId = '';
    const cids: Record<string, string> = {};
    let sandboxPid = 0;

    it('runp starts the pod sandbox (pause, its own netns with eth0 and lo)', async () => {
      const r = await crictl(['runp', '--runtime', handler, files('pod', podConfig())], `${handler} runp`);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      podId = String(r.stdout).trim();
      expect(podId).toMatch(/^[0-9a-f]{64}$/);
      const inspect = JSON.parse(String((await crictl(['inspectp', podId], 'inspectp')).stdout));
      expect(inspect.status.state).toBe('SANDBOX_READY');
      expect(inspect.status.network.ip).toMatch(/^10\.123\.45\.\d+$/);
      expect(inspect.info.runtimeHandler).toBe(handler);
      sandboxPid = inspect.info.pid;
      expect(sandboxPid).toBeGreaterThan(0);
      // The pause process runs the default profile (the pod asked for RuntimeDefault).
      const status = readFileSync(`/proc/${sandboxPid}/status`, 'utf8');
      expect(status).toMatch(/^Seccomp:\t2$/m);
      expect(wrappers[handler].configs()[podId]?.linux?.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
      // What else CRI asks of the sandbox: no_new_privs, a read-only root.
      expect(status).toMatch(/^NoNewPrivs:\t1$/m);
      const rootMount = readFileSync(`/proc/${sandboxPid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      expect(rootMount?.split(' ')[5].split(',')).toContain('ro');
    }, 60_000);

    it('create + start a RuntimeDefault and an Unconfined container; logs', async () => {
      expect(podId).not.toBe('');
      const pod = files('pod', podConfig());
      // pid 1 answers SIGTERM (a graceful stop); the other ignores it (stop ends in SIGKILL).
      const specs: Array<[string, number, string[]]> = [
        ['confined', SECCOMP.RuntimeDefault, ['sh', '-c', 'echo started; grep ^Seccomp: /proc/self/status; trap "echo got TERM; exit 0" TERM; while :; do sleep 1 & wait $!; done']],
        ['unconfined', SECCOMP.Unconfined, ['sh', '-c', 'echo started; grep ^Seccomp: /proc/self/status; exec sleep 3600']],
      ];
      for (const [name, seccomp, command] of specs) {
        const c = await crictl(['create', podId, files(name, containerConfig(name, seccomp, command)), pod], `${handler} create`);
        expect(c.stderr).toBe('');
        expect(c.exitCode).toBe(0);
        cids[name] = String(c.stdout).trim();
        const s = await crictl(['start', cids[name]], `${handler} start`);
        expect(s.stderr).toBe('');
        expect(s.exitCode).toBe(0);
      }
      for (const [name, seccomp] of specs) {
        const want = `started\nSeccomp:\t${seccomp === SECCOMP.RuntimeDefault ? 2 : 0}`;
        await waitFor(async () => String((await crictl(['logs', cids[name]], 'logs')).stdout) === want, 10_000, `${name}'s log`);
        const ps = await crictl(['ps', '-q', '--state', 'running', '--pod', podId], 'ps');
        expect(String(ps.stdout).split('\n')).toContain(cids[name]);
      }
      const sent = wrappers[handler].configs();
      expect(sent[cids.confined]?.linux?.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(sent[cids.unconfined]?.linux?.seccomp).toBeUndefined();
      // Kubelet's BestEffort settings reach the process and its cgroup.
      for (const id of Object.values(cids)) {
        const pid = JSON.parse(String((await crictl(['inspect', id], 'inspect')).stdout)).info.pid as number;
        expect(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim()).toBe('1000');
        expect(cpuWeight(pid)).toBe(cgroupV2() ? '1' : '2');
      }
    }, 60_000);

    it('exec (streaming and sync) runs in the container, under its profile', async () => {
      expect(cids.confined).toBeTruthy();
      const script = 'grep ^Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo unshared || echo refused; ip -o -4 addr show eth0 | grep -c 10.123.45.; exit 3';
      const streamed = await crictl(['exec', cids.confined, 'sh', '-c', script], `${handler} exec`);
      expect(streamed.stdout).toBe('Seccomp:\t2\nrefused\n1');
      // crictl itself exits 1 and names the command's code.
      expect(streamed.stderr).toMatch(/exit code 3/);
      expect(streamed.exitCode).toBe(1);
      // ExecSync (kubelet's probes): the output only comes back with code 0.
      const sync = await crictl(['exec', '--sync', cids.unconfined, 'sh', '-c', script.replace('exit 3', 'exit 0')], `${handler} exec --sync`);
      expect(String(sync.stdout).trim()).toBe('Seccomp:\t0\nunshared\n1');
      expect(sync.exitCode).toBe(0);
      const failing = await crictl(['exec', '--sync', cids.unconfined, 'sh', '-c', 'exit 3'], `${handler} exec --sync`);
      expect(failing.stderr).toMatch(/exited with 3/);
      expect(failing.exitCode).toBe(1);
    }, 60_000);

    it('stop (graceful, then one that needs SIGKILL) and rm take no longer than the stop timeout', async () => {
      expect(cids.confined).toBeTruthy();
      let t = performance.now();
      const graceful = await crictl(['stop', '--timeout', '10', cids.confined], `${handler} stop`);
      expect(graceful.stderr).toBe('');
      expect(graceful.exitCode).toBe(0);
      // The stop timeout is 10 s: a stop that needs it (or fails) is the bug.
      expect(performance.now() - t).toBeLessThan(9500);
      const status = JSON.parse(String((await crictl(['inspect', cids.confined], 'inspect')).stdout)).status;
      expect(status.state).toBe('CONTAINER_EXITED');
      expect(status.exitCode).toBe(0);
      expect(String((await crictl(['logs', cids.confined], 'logs')).stdout)).toMatch(/got TERM$/);

      t = performance.now();
      const killed = await crictl(['stop', '--timeout', '2', cids.unconfined], `${handler} stop (SIGKILL)`);
      expect(killed.stderr).toBe('');
      expect(killed.exitCode).toBe(0);
      expect(performance.now() - t).toBeLessThan(10_000);
      const st2 = JSON.parse(String((await crictl(['inspect', cids.unconfined], 'inspect')).stdout)).status;
      expect(st2.exitCode).toBe(137);

      for (const id of Object.values(cids)) {
        const rm = await crictl(['rm', id], `${handler} rm`);
        expect(rm.stderr).toBe('');
        expect(rm.exitCode).toBe(0);
      }
      expect(String((await crictl(['ps', '-a', '-q', '--pod', podId], 'ps')).stdout)).toBe('');
    }, 60_000);

    it('stopp, rmp: nothing of the pod is left', async () => {
      expect(podId).not.toBe('');
      const t = performance.now();
      const stopp = await crictl(['stopp', podId], `${handler} stopp`);
      expect(stopp.stderr).toBe('');
      expect(stopp.exitCode).toBe(0);
      expect(performance.now() - t).toBeLessThan(10_000);
      const rmp = await crictl(['rmp', podId], `${handler} rmp`);
      expect(rmp.stderr).toBe('');
      expect(rmp.exitCode).toBe(0);
      expect(String((await crictl(['pods', '-q'], 'pods')).stdout)).toBe('');

      // Processes: the pause process, the shim, anything started from the bundles.
      await waitFor(() => cd!.shimPids().length === 0, 5000, 'the shim to exit').catch(() => {});
      expect(cd!.shimPids()).toEqual([]);
      expect(existsSync(`/proc/${sandboxPid}`) && !/ Z /.test(readFileSync(`/proc/${sandboxPid}/stat`, 'utf8'))).toBe(false);
      expect(pidsWithArg(join(base, 'state'))).toEqual([]);
      // The runtime's state, the cgroups, the mounts (rootfs, shm, netns) in containerd's namespace.
      const root = join(roots[handler], 'k8s.io');
      expect(existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : []).toEqual([]);
      for (const id of [podId, ...Object.values(cids)]) expect(cgroupDirs(`${cgroupParent}/pod${podUid}/${id}`)).toEqual([]);
      expect(cd!.mounts()).toEqual([]);
      const netnsDir = join(base, 'state/io.containerd.grpc.v1.cri/netns');
      expect(existsSync(netnsDir) ? readdirSync(netnsDir) : []).toEqual([]);
      // The address went back to the IPAM plugin.
      const ipam = join(base, 'cni/ipam/tsrun-pod');
      expect(existsSync(ipam) ? readdirSync(ipam).filter((f) => /^\d/.test(f)) : []).toEqual([]);
      // No runtime error but the kill after an exit, in runc's words; no failure containerd saw.
      expect(wrappers[handler].errors().filter((e) => !/container not running/.test(e.msg))).toEqual([]);
      expect(cd!.runtimeFailures()).toEqual([]);
    }, 60_000);
  });
});
