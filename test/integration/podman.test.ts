// Real Podman (with conmon) using tsrun-oci as its OCI runtime, isolated
// from the host's Podman state (see helpers/oci-podman.ts), with the stock
// containers.conf: Podman's default seccomp profile
// (/usr/share/containers/seccomp.json), its default sysctl
// (net.ipv4.ping_group_range) and default capabilities all reach tsrun-oci,
// as they reach runc on a stock install. Podman calls,
// per container: create --bundle B --pid-file P [--console-socket S] ID,
// start ID, exec --pid-file P --process F --detach [--tty --console-socket S] ID,
// kill ID 15 / kill ID 9, delete --force ID. It never calls state here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupDirs } from '../helpers/oci-bundle.js';
import { IMAGE, podmanMissing, podmanSandbox, type PodmanSandbox } from '../helpers/oci-podman.js';
import { busybox, integrationSkipReason } from '../helpers/tsrun.js';

function skipReason(): string {
  const reason = integrationSkipReason('podman');
  if (reason) return reason;
  const missing = podmanMissing();
  if (missing) process.stderr.write(`[skip] podman: ${missing}\n`);
  return missing;
}

const skip = skipReason();
const lifecycleCalls = (calls: string[]) => calls.filter((c) => !c.startsWith('state '));

describe.skipIf(skip)('podman with tsrun-oci as its runtime', () => {
  let pm: PodmanSandbox;
  const timings: Array<[string, number]> = [];
  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      timings.push([name, performance.now() - t]);
    }
  }
  const runFlags = () => ['--network', 'none', '--cgroup-parent', `/${pm.cgroupParent}`];
  // Every call must have reached tsrun-oci's log without an error.
  const errors = () => pm.runtimeLog().filter((l) => l.level === 'error');

  beforeAll(async () => {
    pm = podmanSandbox();
    const imported = await step('import', () => pm.importImage(busybox()));
    expect(imported.stderr).not.toMatch(/Error/);
    expect(imported.exitCode).toBe(0);
  });

  afterAll(async () => {
    await pm?.cleanup();
    if (timings.length) process.stderr.write(`[podman] ${timings.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(2)}s`).join(', ')}\n`);
  });

  it('run --rm prints the output and exits with the container\'s code', async () => {
    const r = await step('run --rm', () => pm.podman(['run', '--rm', ...runFlags(), IMAGE, 'sh', '-c', 'echo hi; exit 7']));
    expect(r.stdout).toBe('hi');
    expect(r.exitCode).toBe(7);

    // Other Podman versions also ask for `state`; the lifecycle calls are what matter.
    const calls = lifecycleCalls(pm.runtimeCalls());
    const create = calls.find((c) => c.startsWith('create '))!;
    expect(create).toMatch(/^create --bundle \S+ --pid-file \S+ ([0-9a-f]{64})$/);
    const id = create.split(' ').pop()!;
    expect(calls).toEqual([create, `start ${id}`, `delete --force ${id}`]);
    expect(errors()).toEqual([]);
    // What the stock configuration sends and tsrun-oci must honour.
    const sent = pm.bundleConfigs()[id];
    expect(sent?.linux?.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sent?.linux?.seccomp?.syscalls?.length).toBeGreaterThan(0);
    expect(sent?.linux?.sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 0' });
    expect(pm.ociContainers()).toEqual([]);
    expect(cgroupDirs(`${pm.cgroupParent}/libpod-${id}`)).toEqual([]);
  }, 60_000);

  it('run -d, ps, exec, stop -t 2, rm', async () => {
    const before = pm.runtimeCalls().length;
    const run = await step('run -d', () => pm.podman(['run', '-d', '--name', 'tsrun-sleeper', ...runFlags(), IMAGE, 'sleep', '300']));
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const id = String(run.stdout).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const ps = await step('ps', () => pm.podman(['ps', '--no-trunc', '--format', '{{.ID}} {{.Status}}']));
    expect(ps.stdout).toMatch(new RegExp(`^${id} Up `, 'm'));

    // The exec'd process and pid 1 run under the profile; the sysctl is set in the container's netns.
    const script = 'ps -o pid,args; grep -H ^Seccomp: /proc/1/status /proc/self/status; cat /proc/sys/net/ipv4/ping_group_range';
    const exec = await step('exec', () => pm.podman(['exec', 'tsrun-sleeper', 'sh', '-c', script]));
    expect(exec.stderr).toBe('');
    expect(exec.exitCode).toBe(0);
    const lines = String(exec.stdout).split('\n').map((l) => l.trim());
    expect(lines).toContain('1 sleep 300');
    expect(lines).toContain('/proc/1/status:Seccomp:\t2');
    expect(lines).toContain('/proc/self/status:Seccomp:\t2');
    expect(lines).toContain('0\t0');

    // busybox sleep as pid 1 ignores SIGTERM: Podman sends SIGKILL after 2 s.
    const stop = await step('stop -t 2', () => pm.podman(['stop', '-t', '2', 'tsrun-sleeper']));
    expect(stop.exitCode).toBe(0);
    const exited = await pm.podman(['ps', '-a', '--format', '{{.Status}}']);
    expect(exited.stdout).toMatch(/^Exited \(137\)/);

    const rm = await step('rm', () => pm.podman(['rm', 'tsrun-sleeper']));
    expect(rm.exitCode).toBe(0);
    expect((await pm.podman(['ps', '-aq'])).stdout).toBe('');

    const calls = lifecycleCalls(pm.runtimeCalls().slice(before)).map((c) => c.replaceAll(id, 'ID').replace(/\/\S+/g, 'PATH'));
    expect(calls).toEqual([
      'create --bundle PATH --pid-file PATH ID',
      'start ID',
      'exec --pid-file PATH --process PATH --detach ID',
      'kill ID 15',
      'kill ID 9',
      'delete --force ID',
    ]);
    expect(errors()).toEqual([]);
    expect(pm.ociContainers()).toEqual([]);
    expect(cgroupDirs(`${pm.cgroupParent}/libpod-${id}`)).toEqual([]);
  }, 60_000);
});
