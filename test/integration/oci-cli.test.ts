// tsrun-oci at runc's level: the verbs an engine calls, on bundles made
// from the busybox fixture, checked against the kernel (pids, cgroups) and
// against runc's output shapes.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translateMount } from '../../src/runtime/native-config.js';
import { features, MOUNT_OPTIONS, prepareBundleSpec, v1HierarchiesFromMountinfo } from '../../src/runtime/oci-features.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { cgroupDirs, ociSandbox, waitFor, type OciSandbox } from '../helpers/oci-bundle.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

// No root needed: the rules tsrun-oci applies to a bundle written by an engine.
describe('oci-features', () => {
  const base = (): OciSpec => ({
    ociVersion: '1.0.2-dev',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], resources: { devices: [{ allow: false, access: 'rwm' }] } },
  });

  it('every advertised mount option is taken as a flag, not passed to the filesystem', () => {
    for (const opt of MOUNT_OPTIONS) {
      expect(translateMount({ destination: '/x', type: 'tmpfs', source: '/', options: [opt] }).data, opt).toBeNull();
    }
  });

  it('features: runc shape, seccomp and every hook phase, no systemd', () => {
    const f = features({ version: '0.1.0', commit: 'abc' });
    expect(f.ociVersionMax).toBe('1.2.0');
    expect(f.linux.namespaces).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false });
    expect(f.linux.seccomp).toMatchObject({ enabled: true, actions: expect.arrayContaining(['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS']) });
    expect(f.linux.seccomp.actions).not.toContain('SCMP_ACT_NOTIFY');
    expect(f.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
  });

  it("appends runc's default device allow-list after the engine's rules", () => {
    const { spec } = prepareBundleSpec(base(), { mode: 'v2' });
    const devices = spec.linux!.resources!.devices!;
    expect(devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(devices.slice(1).every((d) => d.allow)).toBe(true);
  });

  it('a cgroup mount becomes cgroup2 in a cgroup namespace on v2, else an empty tmpfs with a warning', () => {
    const withNs = base();
    withNs.linux!.namespaces!.push({ type: 'cgroup' });
    expect(prepareBundleSpec(withNs, { mode: 'v2' }).spec.mounts).toEqual([
      { destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ]);
    const v1 = prepareBundleSpec(withNs, { mode: 'v1', v1Hierarchies: [{ name: 'cpu', options: 'cpu' }, { name: 'systemd', options: 'name=systemd' }] });
    expect(v1.spec.mounts!.map((m) => `${m.type}:${m.destination}`)).toEqual(['tmpfs:/sys/fs/cgroup', 'cgroup:/sys/fs/cgroup/cpu', 'cgroup:/sys/fs/cgroup/systemd']);
    const noNs = prepareBundleSpec(base(), { mode: 'v1', v1Hierarchies: [] });
    expect(noNs.spec.mounts![0]).toMatchObject({ type: 'tmpfs', options: expect.arrayContaining(['ro']) });
    expect(noNs.warnings).toHaveLength(1);
  });

  it('takes seccomp, hooks and namespaced sysctls; refuses sysctls outside its namespaces and --systemd-cgroup, saying why', () => {
    const refuse = (patch: (s: OciSpec & Record<string, unknown>) => void, opts = {}) => {
      const s = base() as OciSpec & Record<string, unknown>;
      patch(s);
      return () => prepareBundleSpec(s, { mode: 'v2' }, opts);
    };
    expect(refuse((s) => Object.assign(s.linux!, { seccomp: { defaultAction: 'SCMP_ACT_ERRNO' } }))).not.toThrow();
    expect(refuse((s) => (s.hooks = { prestart: [{ path: '/bin/true' }] }))).not.toThrow();
    const ownNs = (s: OciSpec) => s.linux!.namespaces!.push({ type: 'network' }, { type: 'ipc' });
    expect(refuse((s) => {
      ownNs(s);
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000000', 'fs.mqueue.msg_max': '20' };
    })).not.toThrow();
    expect(refuse((s) => (s.linux!.sysctl = { 'kernel.panic': '1' }))).toThrow(/sysctl "kernel.panic" is not in a separate kernel namespace/);
    expect(refuse((s) => (s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }))).toThrow(/not allowed in host network namespace/);
    expect(refuse((s) => (s.linux!.sysctl = { 'kernel.shmmax': '1' }))).toThrow(/conflicts with the OCI "ipc" namespace/);
    expect(refuse(() => {}, { systemdCgroup: true })).toThrow(/systemd cgroup driver is not supported/);
  });

  it('reads the v1 hierarchies from mountinfo', () => {
    const text = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(v1HierarchiesFromMountinfo(text)).toEqual([
      { name: 'cpu,cpuacct', options: 'cpu,cpuacct' },
      { name: 'systemd', options: 'name=systemd' },
    ]);
  });
});

const skip = integrationSkipReason('oci-cli');

// A zombie waiting for whoever inherited it counts as dead.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

describe.skipIf(skip)('tsrun-oci', () => {
  // Made in beforeAll, so a run that filters these tests out leaves no temp dir.
  let sb: OciSandbox;
  beforeAll(() => {
    sb = ociSandbox();
  });
  afterAll(async () => {
    await sb?.cleanup();
  });

  const state = async (id: string) => {
    const r = await sb.oci(['state', id]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    return JSON.parse(String(r.stdout)) as Record<string, unknown>;
  };
  const waitStatus = (id: string, status: string) =>
    waitFor(async () => (await state(id)).status === status, 5000, `${id} to be ${status}`);

  async function expectGone(id: string): Promise<void> {
    expect(existsSync(join(sb.root, id))).toBe(false);
    expect(cgroupDirs(`${sb.cgroupParent}/${id}`)).toEqual([]);
    const r = await sb.oci(['state', id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/does not exist/);
  }

  it('--version has runc\'s shape', async () => {
    const r = await sb.oci(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^tsrun-oci version \d+\.\d+\.\d+\ncommit: ([0-9a-f]{40}|unknown)\nspec: 1\.2\.0$/);
  });

  it('features is valid JSON', async () => {
    const r = await sb.oci(['features']);
    expect(r.exitCode).toBe(0);
    const f = JSON.parse(String(r.stdout));
    expect(f).toMatchObject({ ociVersionMin: '1.0.0', ociVersionMax: '1.2.0', linux: { cgroup: { systemd: false }, seccomp: { enabled: true } } });
    expect(f.mountOptions).toContain('rbind');
  });

  it('create → created with the pid file; start → output; exit → stopped; delete leaves nothing', async () => {
    const bundle = await sb.bundle('life', ['sh', '-c', 'echo hello from $HOSTNAME']);
    const pidFile = join(sb.base, 'life.pid');
    // The container's stdout is create's stdout: a file, so nothing waits on a pipe the container holds.
    const c = await sb.ociDetached(['create', '--bundle', bundle, '--pid-file', pidFile, 'life']);
    expect(c.stderr).toBe('');
    expect(c.exitCode).toBe(0);
    const outFile = c.files[0];
    const st = await state('life');
    expect(st).toMatchObject({ ociVersion: '1.2.0', id: 'life', status: 'created', bundle, owner: '' });
    expect(Object.keys(st)).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(st.pid);
    expect(alive(Number(st.pid))).toBe(true);
    expect(readFileSync(outFile, 'utf8')).toBe('');
    expect(cgroupDirs(`${sb.cgroupParent}/life`).length).toBeGreaterThan(0);

    const s = await sb.oci(['start', 'life']);
    expect(s.exitCode).toBe(0);
    await waitStatus('life', 'stopped');
    expect(readFileSync(outFile, 'utf8')).toBe('hello from life\n');
    expect((await state('life')).pid).toBe(0);

    const again = await sb.oci(['start', 'life']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/stopped, not created/);

    const d = await sb.oci(['delete', 'life']);
    expect(d.exitCode).toBe(0);
    await expectGone('life');
  });

  it('list and ps show the container; pause and resume', async () => {
    const bundle = await sb.bundle('lister', ['sleep', '30']);
    expect((await sb.ociDetached(['create', '--bundle', bundle, 'lister'])).exitCode).toBe(0);
    expect((await sb.oci(['start', 'lister'])).exitCode).toBe(0);
    const { pid } = await state('lister');

    expect((await sb.oci(['list', '-q'])).stdout).toContain('lister');
    const list = JSON.parse(String((await sb.oci(['list', '--format', 'json'])).stdout)) as Array<Record<string, unknown>>;
    expect(list.find((c) => c.id === 'lister')).toMatchObject({ pid, status: 'running', owner: 'root' });
    const table = String((await sb.oci(['list'])).stdout).split('\n');
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table.some((l) => l.startsWith('lister') && l.includes('running'))).toBe(true);

    expect(JSON.parse(String((await sb.oci(['ps', '--format', 'json', 'lister'])).stdout))).toEqual([pid]);
    const ps = String((await sb.oci(['ps', 'lister'])).stdout).trim().split('\n');
    expect(ps[0]).toMatch(/PID/);
    expect(ps.slice(1).map((l) => l.trim().split(/\s+/)[1])).toEqual([String(pid)]);
    const noPid = await sb.oci(['ps', 'lister', '-o', 'comm']);
    expect(noPid).toMatchObject({ exitCode: 1, stdout: '' });
    expect(noPid.stderr).toMatch(/couldn't find PID field in ps output/);

    expect((await sb.oci(['pause', 'lister'])).exitCode).toBe(0);
    expect((await state('lister')).status).toBe('paused');
    expect((await sb.oci(['resume', 'lister'])).exitCode).toBe(0);
    expect((await state('lister')).status).toBe('running');

    expect((await sb.oci(['delete', '--force', 'lister'])).exitCode).toBe(0);
    await expectGone('lister');
  });

  it('kill takes a signal name or number; a stopped container cannot be killed', async () => {
    // pid 1 gets only the signals it handles: trap TERM.
    const trapper = await sb.bundle('trapper', ['sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']);
    expect((await sb.ociDetached(['run', '-d', '--bundle', trapper, 'trapper'])).exitCode).toBe(0);
    await waitStatus('trapper', 'running');
    // sh sets its trap once it runs; give it a moment to get there.
    await new Promise((r) => setTimeout(r, 200));
    expect((await sb.oci(['kill', 'trapper', 'TERM'])).exitCode).toBe(0);
    await waitStatus('trapper', 'stopped');
    const dead = await sb.oci(['kill', 'trapper', 'KILL']);
    expect(dead.exitCode).toBe(1);
    expect(dead.stderr).toMatch(/not running/);

    const sleeper = await sb.bundle('sleeper', ['sleep', '30']);
    expect((await sb.ociDetached(['run', '-d', '--bundle', sleeper, 'sleeper'])).exitCode).toBe(0);
    expect((await sb.oci(['kill', '--all', 'sleeper', '9'])).exitCode).toBe(0);
    await waitStatus('sleeper', 'stopped');
    const bad = await sb.oci(['kill', 'sleeper', 'SIGNOPE']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/invalid signal/);

    for (const id of ['trapper', 'sleeper']) {
      expect((await sb.oci(['delete', id])).exitCode).toBe(0);
      await expectGone(id);
    }
  });

  it('delete refuses a running container without --force; --force kills it; a missing one is fine with --force', async () => {
    const bundle = await sb.bundle('busy', ['sleep', '30']);
    expect((await sb.ociDetached(['run', '--detach', '--bundle', bundle, 'busy'])).exitCode).toBe(0);
    const { pid } = await state('busy');
    const d = await sb.oci(['delete', 'busy']);
    expect(d.exitCode).toBe(1);
    expect(d.stderr).toMatch(/not stopped: running/);
    expect((await state('busy')).status).toBe('running');

    expect((await sb.oci(['delete', '--force', 'busy'])).exitCode).toBe(0);
    expect(alive(Number(pid))).toBe(false);
    await expectGone('busy');

    expect((await sb.oci(['delete', '--force', 'busy'])).exitCode).toBe(0);
    const missing = await sb.oci(['delete', 'busy']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('run in the foreground returns the container\'s exit code and removes it', async () => {
    const bundle = await sb.bundle('fg', ['sh', '-c', 'echo out; echo err >&2; exit 7']);
    const r = await sb.oci(['run', '--bundle', bundle, 'fg']);
    expect(r.stdout).toBe('out');
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(7);
    await expectGone('fg');
  });

  it('exec --process runs in the container\'s pid namespace; exec CMD returns its code', async () => {
    const bundle = await sb.bundle('host', ['sleep', '30']);
    expect((await sb.ociDetached(['run', '-d', '--bundle', bundle, 'host'])).exitCode).toBe(0);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as OciSpec;
    const processFile = join(sb.base, 'process.json');
    writeFileSync(processFile, JSON.stringify({ ...spec.process, args: ['ps', '-o', 'pid,args'] }));

    const r = await sb.oci(['exec', '--process', processFile, 'host']);
    expect(r.exitCode).toBe(0);
    const lines = String(r.stdout).trim().split('\n').map((l) => l.trim());
    expect(lines).toContain('1 sleep 30');
    expect(lines.some((l) => /^\d+ ps -o pid,args$/.test(l))).toBe(true);

    const code = await sb.oci(['exec', '--env', 'X=42', 'host', 'sh', '-c', 'echo $X; exit 5']);
    expect(code.stdout).toBe('42');
    expect(code.exitCode).toBe(5);

    // Killed by signal N → 128+N (pid 1 could not be: the kernel shields a namespace's init).
    expect((await sb.oci(['exec', 'host', 'sh', '-c', 'kill -9 $$'])).exitCode).toBe(137);

    // podman's form: detached, with a pid file, the process outliving the CLI.
    const pidFile = join(sb.base, 'exec.pid');
    const d = await sb.ociDetached(['exec', '--process', processFile, '--detach', '--pid-file', pidFile, 'host']);
    expect(d.exitCode).toBe(0);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBeGreaterThan(0);

    expect((await sb.oci(['delete', '-f', 'host'])).exitCode).toBe(0);
    await expectGone('host');
    const gone = await sb.oci(['exec', 'host', 'true']);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toMatch(/does not exist/);
  });

  it('errors go to --log as JSON lines with --log-format json, and to stderr; exit 1', async () => {
    const logFile = join(sb.base, 'log.json');
    const r = await sb.oci(['--log', logFile, '--log-format', 'json', 'state', 'no-such']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/container "no-such" does not exist/);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'container "no-such" does not exist' });
    expect(new Date(lines[0].time).toISOString().slice(0, 19)).toBe(lines[0].time.slice(0, 19));

    // Without --log the line goes to stderr in the chosen format.
    const j = await sb.oci(['--log-format', 'json', 'kill', 'no-such']);
    expect(JSON.parse(String(j.stderr))).toMatchObject({ level: 'error', msg: expect.stringMatching(/does not exist/) });
    const t = await sb.oci(['pause', 'no-such']);
    expect(t.stderr).toMatch(/^time="[^"]+" level=error msg="container \\"no-such\\" does not exist"$/);

    const unknown = await sb.oci(['checkpoint', 'x']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/checkpoint\\?" is not supported by tsrun-oci/);
    expect((await sb.oci(['frobnicate'])).stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('--systemd-cgroup is accepted but creating with it says it is unsupported; nothing is left', async () => {
    const bundle = await sb.bundle('sysd', ['true']);
    const r = await sb.oci(['--systemd-cgroup', 'create', '--bundle', bundle, 'sysd']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/systemd cgroup driver is not supported/);
    expect(existsSync(join(sb.root, 'sysd'))).toBe(false);

    const slice = await sb.bundle('slice', ['true'], (s) => (s.linux!.cgroupsPath = 'system.slice:tsrun:slice'));
    const s = await sb.oci(['create', '--bundle', slice, 'slice']);
    expect(s.exitCode).toBe(1);
    expect(s.stderr).toMatch(/systemd cgroup paths are not supported/);
    expect(existsSync(join(sb.root, 'slice'))).toBe(false);
    // `state` etc. accept the flag.
    expect((await sb.oci(['--systemd-cgroup', 'list', '-q'])).exitCode).toBe(0);
  });

  it('leaves no state directory behind (only the compiled seccomp programs it keeps)', () => {
    expect(existsSync(sb.root) ? readdirSync(sb.root).filter((n) => n !== '.seccomp') : []).toEqual([]);
  });
});
