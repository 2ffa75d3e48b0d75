// User namespaces on the real kernel: the container's root is an
// unprivileged uid on the host, its writes to a bind-mounted host dir
// belong to that uid, the image's layers are never chowned (the rootfs is
// an overlay over idmapped layers, so `ls` inside still shows root), exec
// joins the namespace, and the detached (monitor) path works too. Bundles
// go through tsrun-oci and the engine; the CLI flags (--userns=auto, with
// a private subuid file) are tested once run-options passes them on.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/native/binding.js';
import { MNT_DETACH } from '../../src/native/constants.js';
import { Engine } from '../../src/runtime/engine.js';
import { ROOTFS_IDMAP_ANNOTATION } from '../../src/runtime/native-userns.js';
import type { OciSpec } from '../../src/spec/oci.js';
import { ociSandbox, waitFor, type OciSandbox } from '../helpers/oci-bundle.js';
import { busybox, cli, integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

function kernelSkip(): string {
  const [major, minor] = release().split('.').map(Number);
  if (major > 6 || (major === 6 && minor >= 15)) return '';
  const reason = `Linux ${release()}: an overlay over idmapped layers passed as detached mounts needs 6.15`;
  process.stderr.write(`[skip] userns: ${reason}\n`);
  return reason;
}
const skip = integrationSkipReason('userns') || kernelSkip();

/** Every entry under dir: owner, mode, size and change time, to prove nothing was chowned or touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const st = lstatSync(join(dir, rel));
    out[rel || '/'] = `${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.size} ${st.ctimeMs}`;
    if (st.isDirectory()) for (const n of readdirSync(join(dir, rel))) walk(`${rel}/${n}`);
  };
  walk('');
  return out;
}

/** The first child of `pid` (unshare --fork's sleep), once it exists. */
async function waitForChild(pid: number): Promise<number> {
  let child = 0;
  await waitFor(() => {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    child = Number(kids.split(' ')[0]) || 0;
    return child > 0;
  }, 5000, 'unshare to fork');
  return child;
}

function procStatusIds(pid: number): { uid: string; gid: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => status.split('\n').find((l) => l.startsWith(`${k}:`))!.split(/\s+/).slice(1, 5).join(' ');
  return { uid: field('Uid'), gid: field('Gid') };
}

const HOST_UID = 410000;
const HOST_GID = 420000;
const MAPS = {
  uidMappings: [{ containerID: 0, hostID: HOST_UID, size: 65536 }],
  gidMappings: [{ containerID: 0, hostID: HOST_GID, size: 65536 }],
};

describe.skipIf(skip)('user namespaces: bundles (tsrun-oci and the engine)', () => {
  let sb: OciSandbox;
  let l1: string;
  let l2: string;
  let before: Record<string, string>;
  const merged: string[] = [];

  beforeAll(() => {
    sb = ociSandbox();
    // Two image layers of our own (the busybox fixture is shared with other
    // tests that write into it): the base, and one with a non-root file and
    // a private directory.
    l1 = join(sb.base, 'layers/l1');
    l2 = join(sb.base, 'layers/l2');
    mkdirSync(join(sb.base, 'layers'), { recursive: true });
    execFileSync('cp', ['-a', busybox(), l1]);
    mkdirSync(join(l2, 'etc'), { recursive: true });
    mkdirSync(join(l2, 'secret'), { mode: 0o700 });
    writeFileSync(join(l2, 'etc/layer2'), 'from layer 2\n', { mode: 0o640 });
    chownSync(join(l2, 'etc/layer2'), 1000, 1000);
    before = { ...snapshot(l1), ...Object.fromEntries(Object.entries(snapshot(l2)).map(([k, v]) => [`l2:${k}`, v])) };
  });

  afterAll(async () => {
    for (const m of merged) {
      try {
        native.umount(m, MNT_DETACH);
      } catch {
        // never mounted
      }
    }
    await sb?.cleanup();
  });

  /** A container overlay over l2:l1 mounted on the host (as image/rootfs.ts does), and the annotation naming its layers. */
  function overlay(name: string): { merged: string; upper: string; annotation: string } {
    const base = join(sb.base, 'containers', name);
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(base, d), { recursive: true });
    native.mount('overlay', join(base, 'merged'), 'overlay', 0, `lowerdir=${l2}:${l1},upperdir=${base}/upper,workdir=${base}/work`);
    merged.push(join(base, 'merged'));
    return {
      merged: join(base, 'merged'),
      upper: join(base, 'upper'),
      annotation: JSON.stringify({ lower: [l2, l1], upper: join(base, 'upper'), work: join(base, 'idmap-work') }),
    };
  }

  async function usernsBundle(name: string, command: string[], patch?: (spec: OciSpec) => void): Promise<{ bundle: string; upper: string }> {
    const ov = overlay(name);
    const bundle = await sb.bundle(name, command, (spec) => {
      spec.root = { path: ov.merged };
      spec.linux!.namespaces!.push({ type: 'user' });
      Object.assign(spec.linux!, structuredClone(MAPS));
      spec.annotations = { ...spec.annotations, [ROOTFS_IDMAP_ANNOTATION]: ov.annotation };
      patch?.(spec);
    });
    return { bundle, upper: ov.upper };
  }

  async function pidOf(id: string): Promise<number> {
    const r = await sb.oci(['state', id]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return JSON.parse(String(r.stdout)).pid as number;
  }

  it("root inside is an unprivileged uid on the host; exec joins the container's namespace", async () => {
    const { bundle } = await usernsBundle('sleeper', ['sleep', '60']);
    const c = await sb.ociDetached(['run', '-d', '--bundle', bundle, 'sleeper']);
    expect(c.exitCode, c.stderr).toBe(0);
    const pid = await pidOf('sleeper');
    expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
    expect(readFileSync(`/proc/${pid}/gid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', String(HOST_GID), '65536']);
    expect(procStatusIds(pid)).toEqual({ uid: Array(4).fill(HOST_UID).join(' '), gid: Array(4).fill(HOST_GID).join(' ') });

    const e = await sb.oci(['exec', 'sleeper', 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map; grep ^Uid /proc/self/status; readlink /proc/self/ns/user; ls -ln /etc/layer2']);
    expect(e.exitCode, String(e.stderr)).toBe(0);
    const lines = String(e.stdout).split('\n');
    expect(lines.slice(0, 2)).toEqual(['0', '0']);
    expect(lines[2].trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
    expect(lines[3].split(/\s+/).slice(1)).toEqual(['0', '0', '0', '0']);
    // The same user namespace as the container's first process.
    expect(lines[4]).toBe(execFileSync('readlink', [`/proc/${pid}/ns/user`], { encoding: 'utf8' }).trim());
    expect(lines[5]).toMatch(/^-rw-r----- +1 1000 +1000 .* \/etc\/layer2$/);
    expect((await sb.oci(['delete', '--force', 'sleeper'])).exitCode).toBe(0);
  });

  it("files written to a bind-mounted host dir belong to the mapped uid; ls and ps inside show root; no layer was chowned", async () => {
    const vol = join(sb.base, 'vol');
    mkdirSync(vol, { mode: 0o777 });
    chmodSync(vol, 0o777);
    const script = [
      'touch /vol/file && mkdir /vol/dir',
      'ls -ln /bin/busybox /etc/passwd /etc/layer2 | while read m l u g rest; do echo "$u:$g ${rest##* }"; done',
      'stat -c "%u:%g %a %n" / /secret',
      'ps -o user,comm | grep -w ps',
      'echo changed >> /etc/passwd && chown 1000:1000 /etc/group && rm /etc/layer2 && touch /newfile',
      'chown 1234:1234 /secret && ls -lnd /secret',
    ].join('; ');
    const { bundle, upper } = await usernsBundle('writer', ['sh', '-c', script], (spec) => {
      spec.mounts!.push({ destination: '/vol', type: 'bind', source: vol, options: ['rbind', 'rw'] });
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'writer']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n')).toEqual([
      '0:0 /bin/busybox',
      '1000:1000 /etc/layer2',
      '0:0 /etc/passwd',
      '0:0 755 /',
      '0:0 700 /secret',
      expect.stringMatching(/^root +ps$/),
      expect.stringMatching(/^drwx------ +\d+ 1234 +1234 .* \/secret$/),
    ]);
    // On the host: the container's root is HOST_UID in the volume.
    for (const f of ['file', 'dir']) {
      const st = statSync(join(vol, f));
      expect([st.uid, st.gid]).toEqual([HOST_UID, HOST_GID]);
    }
    // The shared layers are exactly as they were...
    const after = { ...snapshot(l1), ...Object.fromEntries(Object.entries(snapshot(l2)).map(([k, v]) => [`l2:${k}`, v])) };
    expect(after).toEqual(before);
    // ...and the container's own layer holds its changes in the container's ids, as without a user namespace.
    const owner = (p: string) => {
      const st = lstatSync(join(upper, p));
      return `${st.uid}:${st.gid}`;
    };
    expect(owner('etc/passwd')).toBe('0:0');
    expect(readFileSync(join(upper, 'etc/passwd'), 'utf8')).toMatch(/changed\n$/);
    expect(owner('etc/group')).toBe('1000:1000');
    expect(owner('newfile')).toBe('0:0');
    expect(owner('secret')).toBe('1234:1234');
    expect(lstatSync(join(upper, 'etc/layer2')).isCharacterDevice()).toBe(true); // a whiteout
  });

  it("a detached container under its monitor (tsrun's own path) gets the namespace too", async () => {
    const { bundle } = await usernsBundle('detached', ['sleep', '60']);
    const engine = new Engine({ native, stateDir: join(sb.base, 'engine') });
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as OciSpec;
    const rec = await engine.create('detached', { bundle, spec, monitor: { openStdin: false, logPath: join(sb.base, 'detached.log') } });
    try {
      await engine.start('detached');
      expect(readFileSync(`/proc/${rec.pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
      expect(procStatusIds(rec.pid).uid).toBe(Array(4).fill(HOST_UID).join(' '));
      expect((await engine.state('detached')).status).toBe('running');
    } finally {
      await engine.delete('detached', true);
    }
    await waitFor(() => !existsSync(join(sb.base, 'engine', 'detached')), 5000, 'the engine state to go');
  });

  it("runc's order with namespaces joined by path: a new user namespace after the joins, or another container's joined first", async () => {
    // Podman's shape: its own network namespace, joined by path, with a new user namespace.
    const holder = execa('unshare', ['--net', '--fork', 'sleep', '60'], { stdio: 'ignore' });
    let netPid = 0;
    try {
      netPid = await waitForChild(holder.pid!);
      const netns = readlinkSync(`/proc/${netPid}/ns/net`);
      const { bundle } = await usernsBundle('joiner', ['sleep', '60'], (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${netPid}/ns/net` } : n));
      });
      const c = await sb.ociDetached(['run', '-d', '--bundle', bundle, 'joiner']);
      expect(c.exitCode, c.stderr).toBe(0);
      const pid = await pidOf('joiner');
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(netns);
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
      const inside = await sb.oci(['exec', 'joiner', 'sh', '-c', 'echo $$; stat -c %u /bin/busybox; hostname']);
      expect(inside.exitCode, String(inside.stderr)).toBe(0);
      expect(String(inside.stdout).split('\n').slice(1, 2)).toEqual(['0']);

      // Docker's shape for --net container:A with userns: A's user namespace joined first, the rest new.
      const guest = await sb.bundle('guest', ['sh', '-c', 'cat /proc/self/uid_map; stat -c %u /proc/1; echo $$'], (spec) => {
        spec.root = { path: l1, readonly: true };
        spec.linux!.namespaces!.push({ type: 'user', path: `/proc/${pid}/ns/user` });
      });
      const g = await sb.oci(['run', '--bundle', guest, 'guest']);
      expect(g.exitCode, String(g.stderr)).toBe(0);
      const [map, , self] = String(g.stdout).split('\n');
      expect(map.trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
      expect(self).toBe('1'); // its own pid namespace, made after the join
      await sb.oci(['delete', '--force', 'joiner']);
    } finally {
      if (netPid) process.kill(netPid, 'SIGKILL');
      holder.kill('SIGKILL');
      await holder.catch(() => {});
    }
  });

  it("without tsrun's annotation the rootfs is used as it is (runc's behaviour): host root's files show as nobody", async () => {
    const bundle = await sb.bundle('plain', ['sh', '-c', 'id -u; stat -c %u /bin/busybox; cat /proc/self/uid_map'], (spec) => {
      spec.root = { path: l1, readonly: true };
      spec.linux!.namespaces!.push({ type: 'user' });
      Object.assign(spec.linux!, structuredClone(MAPS));
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'plain']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const [uid, owner, map] = String(r.stdout).split('\n');
    expect([uid, owner]).toEqual(['0', '65534']);
    expect(map.trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
  });

  it('a directory rootfs is idmapped as a whole, read-only, without changing it', async () => {
    const bundle = await sb.bundle('tree', ['sh', '-c', 'stat -c "%u:%g" /bin/busybox /etc/passwd'], (spec) => {
      spec.root = { path: l1, readonly: true };
      spec.linux!.namespaces!.push({ type: 'user' });
      Object.assign(spec.linux!, structuredClone(MAPS));
      spec.annotations = { ...spec.annotations, [ROOTFS_IDMAP_ANNOTATION]: 'true' };
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'tree']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toBe('0:0\n0:0');
    expect(snapshot(l1)).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => !k.startsWith('l2:'))));
  });

  it('where the kernel cannot idmap the rootfs: one clear line naming the requirement, nothing created, nothing chowned', async () => {
    // An overlay mount itself cannot be idmapped (overlayfs has no FS_ALLOW_IDMAP); only its layers can.
    const ov = overlay('refused');
    const bundle = await sb.bundle('refused', ['true'], (spec) => {
      spec.root = { path: ov.merged };
      spec.linux!.namespaces!.push({ type: 'user' });
      Object.assign(spec.linux!, structuredClone(MAPS));
      spec.annotations = { ...spec.annotations, [ROOTFS_IDMAP_ANNOTATION]: 'true' };
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'refused']);
    expect(r.exitCode).not.toBe(0);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot present the root filesystem through an idmapped mount: the filesystem of ${ov.merged} cannot be idmapped on this kernel`);
    expect(lines[0]).toContain('tsrun never chowns image layers');
    expect(existsSync(join(sb.root, 'refused'))).toBe(false);
    expect(readdirSync(ov.upper)).toEqual([]);
  });

  it('refuses mappings the kernel would, before anything runs', async () => {
    const bundle = await sb.bundle('nomaps', ['true'], (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
    });
    const r = await sb.oci(['run', '--bundle', bundle, 'nomaps']);
    expect(r.exitCode).not.toBe(0);
    expect(String(r.stderr)).toContain('user namespaces enabled, but no uid mappings found');
    expect(existsSync(join(sb.root, 'nomaps'))).toBe(false);
  });
});

// --- The CLI: needs run-options to pass --userns/--uidmap/--gidmap on (see src/spec/userns.ts).

function cliSkip(): string {
  if (skip) return skip;
  const help = execFileSync('node', ['--', cli, 'run', '--help'], { encoding: 'utf8' });
  if (help.includes('--userns')) return '';
  const reason = 'tsrun run has no --userns flag yet (run-options wiring of spec/userns.ts applyUserns)';
  process.stderr.write(`[skip] userns CLI: ${reason}\n`);
  return reason;
}

describe.skipIf(cliSkip())('user namespaces: the tsrun CLI', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  beforeAll(() => {
    sb = sandbox();
    const files = join(sb.root, '..', 'subids');
    mkdirSync(files, { recursive: true });
    env = { TSRUN_SUBUID_FILE: join(files, 'subuid'), TSRUN_SUBGID_FILE: join(files, 'subgid') };
  });
  afterAll(() => sb?.cleanup());

  it('--userns=auto without subordinate ids: one clear line, exit 125, nothing created', async () => {
    writeFileSync(env.TSRUN_SUBUID_FILE, 'someone:100000:65536\n');
    writeFileSync(env.TSRUN_SUBGID_FILE, 'someone:100000:65536\n');
    const r = await sb.tsrun(['run', '--rm', '--userns=auto', '--rootfs', busybox(), 'true'], { env });
    expect(r.exitCode).toBe(125);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`--userns=auto: no subordinate ids for "tsrun" in ${env.TSRUN_SUBUID_FILE}`);
    expect((await sb.tsrun(['ps', '-aq'])).stdout).toBe('');
    expect(existsSync(join(sb.root, 'containers')) ? readdirSync(join(sb.root, 'containers')) : []).toEqual([]);
  });

  it('--userns=auto with subordinate ids: two containers get non-overlapping ranges; rm frees them', async () => {
    writeFileSync(env.TSRUN_SUBUID_FILE, 'tsrun:500000:20000\n');
    writeFileSync(env.TSRUN_SUBGID_FILE, 'tsrun:600000:20000\n');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await sb.tsrun(['run', '-d', '--userns=auto:size=10000', '--rootfs', busybox(), '--read-only', 'sleep', '60'], { env });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      ids.push(String(r.stdout).trim());
    }
    const maps = [];
    for (const id of ids) {
      const pid = JSON.parse(String((await sb.tsrun(['inspect', id])).stdout))[0].State.Pid as number;
      maps.push(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number));
      const inside = await sb.tsrun(['exec', id, 'stat', '-c', '%u', '/bin/busybox']);
      expect(String(inside.stdout)).toBe('0');
    }
    expect(maps.map((m) => m[1]).sort()).toEqual([500000, 510000]);
    expect(maps.every((m) => m[0] === 0 && m[2] === 10000)).toBe(true);
    // A third does not fit until one is removed.
    const full = await sb.tsrun(['run', '--rm', '--userns=auto:size=10000', '--rootfs', busybox(), 'true'], { env });
    expect(full.exitCode).toBe(125);
    expect((await sb.tsrun(['rm', '-f', ids[0]])).exitCode).toBe(0);
    const again = await sb.tsrun(['run', '--rm', '--userns=auto:size=10000', '--rootfs', busybox(), '--read-only', 'cat', '/proc/self/uid_map'], { env });
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout).trim().split(/\s+/)).toEqual(['0', String(maps[0][1]), '10000']);
    await sb.tsrun(['rm', '-f', ids[1]]);
  });

  it("an image's container: root inside owns the files, the shared layer is never chowned, changes keep the container's ids", async () => {
    const tar = join(sb.root, '..', 'busybox.tar');
    execFileSync('tar', ['-C', busybox(), '-cf', tar, '.']);
    expect((await sb.tsrun(['import', tar, 'userns-bb:1'])).exitCode).toBe(0);
    const layers = join(sb.root, 'images', 'layers');
    const before = snapshot(layers);
    writeFileSync(env.TSRUN_SUBUID_FILE, 'tsrun:800000:65536\n');
    writeFileSync(env.TSRUN_SUBGID_FILE, 'tsrun:900000:65536\n');
    const c = await sb.tsrun(['create', '--userns=auto', 'userns-bb:1', 'sh', '-c', 'stat -c "%u:%g" /bin/busybox /etc/passwd; cat /proc/self/uid_map; echo x >> /etc/passwd; touch /new'], { env });
    expect(c.exitCode, String(c.stderr)).toBe(0);
    const id = String(c.stdout).trim();
    const r = await sb.tsrun(['start', '-a', id]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const [a, b, map] = String(r.stdout).split('\n');
    expect([a, b]).toEqual(['0:0', '0:0']);
    expect(map.trim().split(/\s+/)).toEqual(['0', '800000', '65536']);
    expect(snapshot(layers)).toEqual(before);
    const upper = join(sb.root, 'overlay', id, 'upper');
    expect([lstatSync(join(upper, 'etc/passwd')).uid, lstatSync(join(upper, 'new')).uid]).toEqual([0, 0]);
    // tsrun diff reads the same ids a container without a user namespace leaves.
    expect(String((await sb.tsrun(['diff', id])).stdout)).toContain('A /new');
    expect((await sb.tsrun(['rm', id])).exitCode).toBe(0);
  });

  it("Docker's --userns-remap (or TSRUN_USERNS_REMAP): every container gets the user's ids; --userns=host opts out", async (ctx) => {
    const help = String((await sb.tsrun(['--help'])).stdout);
    if (!help.includes('--userns-remap')) return ctx.skip();
    writeFileSync(env.TSRUN_SUBUID_FILE, 'tsrun:300000:65536\ntsrun:400000:1000\n');
    writeFileSync(env.TSRUN_SUBGID_FILE, 'tsrun:350000:65536\n');
    const run = (args: string[], extra: Record<string, string> = {}) =>
      sb.tsrun([...args, 'run', '--rm', '--rootfs', busybox(), '--read-only', 'cat', '/proc/self/uid_map', '/proc/self/gid_map'], { env: { ...env, ...extra } });
    const lines = (out: unknown) => String(out).split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    const flag = await run(['--userns-remap', 'default']);
    expect(flag.exitCode, String(flag.stderr)).toBe(0);
    expect(lines(flag.stdout)).toEqual(['0 300000 65536', '65536 400000 1000', '0 350000 65536']);
    const fromEnv = await run([], { TSRUN_USERNS_REMAP: 'default' });
    expect(lines(fromEnv.stdout)).toEqual(lines(flag.stdout));
    const host = await sb.tsrun(['--userns-remap', 'default', 'run', '--rm', '--userns=host', '--rootfs', busybox(), 'cat', '/proc/self/uid_map'], { env });
    expect(lines(host.stdout)).toEqual(['0 0 4294967295']);
  });

  it('--uidmap/--gidmap as Podman takes them', async () => {
    const r = await sb.tsrun(['run', '--rm', '--uidmap', '0:700000:65536', '--gidmap', '0:710000:65536', '--rootfs', busybox(), '--read-only', 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual(['0 700000 65536', '0 710000 65536', '0:0']);
  });
});
