import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { buildSpec, INIT_ANNOTATION, resolveArgs, resolveCwd, type RunOptions } from '../../src/spec/build.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_MOUNTS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
} from '../../src/spec/defaults.js';
import { OCI_VERSION } from '../../src/spec/oci.js';
import { rejection } from '../helpers/expect-error.js';

const ID = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

let tmp: string;
let rootfs: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tsrun-build-'));
  rootfs = path.join(tmp, 'rootfs');
  await mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:root\nwheel:x:10:root\nusers:x:100:app\n');
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function build(opts: Partial<RunOptions>, hostEnv: Record<string, string | undefined> = {}) {
  return buildSpec({ rootfs, command: ['sh'], ...opts }, { id: ID, hostEnv });
}


describe('resolveArgs (Docker entrypoint/cmd rules)', () => {
  const image = { entrypoint: ['/entry.sh'], cmd: ['serve', '--port', '80'] };

  it('uses image entrypoint + image cmd when no command is given', () => {
    expect(resolveArgs({ command: [], image })).toEqual(['/entry.sh', 'serve', '--port', '80']);
  });

  it('replaces the image cmd with the run command', () => {
    expect(resolveArgs({ command: ['sh', '-c', 'x'], image })).toEqual(['/entry.sh', 'sh', '-c', 'x']);
  });

  it('--entrypoint replaces the image entrypoint and drops the image cmd', () => {
    expect(resolveArgs({ command: [], entrypoint: '/bin/true', image })).toEqual(['/bin/true']);
    expect(resolveArgs({ command: ['-x'], entrypoint: '/bin/sh', image })).toEqual(['/bin/sh', '-x']);
  });

  it("--entrypoint '' clears the entrypoint", () => {
    expect(resolveArgs({ command: ['ls', '/'], entrypoint: '', image })).toEqual(['ls', '/']);
    expect(() => resolveArgs({ command: [], entrypoint: '', image })).toThrow('no command specified');
  });

  it('fails with INVALID_ARGUMENT when nothing is left to run', () => {
    let err: unknown;
    try {
      resolveArgs({ command: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsrunError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'no command specified' });
    expect(resolveArgs({ command: [], image: { cmd: ['/bin/sh'] } })).toEqual(['/bin/sh']);
  });
});

describe('resolveCwd', () => {
  it('prefers --workdir, then the image, then /, and normalises', () => {
    expect(resolveCwd('/srv/', '/app')).toBe('/srv');
    expect(resolveCwd(undefined, '/app')).toBe('/app');
    expect(resolveCwd(undefined, undefined)).toBe('/');
    expect(resolveCwd('', '')).toBe('/');
    expect(resolveCwd('/a/../b//c', undefined)).toBe('/b/c');
  });

  it('rejects relative paths', () => {
    expect(() => resolveCwd('srv', undefined)).toThrow(TsrunError);
    expect(() => resolveCwd(undefined, 'app')).toThrow(/absolute/);
  });
});

describe('buildSpec', () => {
  it('builds a Docker-like default spec', async () => {
    const spec = await build({});
    expect(spec.ociVersion).toBe(OCI_VERSION);
    expect(spec.hostname).toBe('0123456789ab');
    expect(spec.root).toEqual({ path: rootfs, readonly: false });
    expect(spec.process.args).toEqual(['sh']);
    expect(spec.process.cwd).toBe('/');
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.consoleSize).toBeUndefined();
    expect(spec.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10], username: 'root' });
    expect(spec.process.env).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=0123456789ab', 'HOME=/root']);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.capabilities).toEqual({
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
      inheritable: [],
      ambient: [],
    });
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(spec.linux?.maskedPaths).toEqual([...DEFAULT_MASKED_PATHS]);
    expect(spec.linux?.readonlyPaths).toEqual([...DEFAULT_READONLY_PATHS]);
    expect(spec.mounts?.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/dev/mqueue', '/dev/shm']);
    expect(spec.mounts?.some((m) => m.destination === '/sys/fs/cgroup')).toBe(false);
    expect(spec.annotations).toBeUndefined();
  });

  it('hands out fresh copies of the shared defaults', async () => {
    const a = await build({});
    a.mounts?.[0]?.options?.push('tampered');
    a.process.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    a.linux?.maskedPaths?.pop();
    const b = await build({});
    expect(b.mounts?.[0]?.options).toEqual(['nosuid', 'noexec', 'nodev']);
    expect(DEFAULT_MOUNTS[0]?.options).toEqual(['nosuid', 'noexec', 'nodev']);
    expect(b.process.capabilities?.bounding).toHaveLength(14);
    expect(b.linux?.maskedPaths).toHaveLength(DEFAULT_MASKED_PATHS.length);
  });

  it('merges env: PATH, image env, HOSTNAME, TERM, env files, -e; HOME from passwd', async () => {
    const f1 = path.join(tmp, 'one.env');
    const f2 = path.join(tmp, 'two.env');
    await writeFile(f1, '# first\nFILE1=a\nSHARED=from-file1\nHOSTVAR\n');
    await writeFile(f2, 'SHARED=from-file2\nIMG=file-overrides-image\n');
    const spec = await build(
      {
        tty: true,
        user: 'app',
        envFiles: [f1, f2],
        env: ['CLI=1', 'SHARED=from-cli', 'HOSTVAR2', 'UNSET_ON_HOST', 'TERM=vt100'],
        image: { env: ['PATH=/image/bin', 'IMG=image', 'DROPME=x'] },
      },
      { HOSTVAR: 'h1', HOSTVAR2: 'h2', PATH: '/host/should/not/leak' },
    );
    expect(spec.process.env).toEqual([
      'PATH=/image/bin',
      'IMG=file-overrides-image',
      'DROPME=x',
      'HOSTNAME=0123456789ab',
      'TERM=vt100',
      'FILE1=a',
      'SHARED=from-cli',
      'HOSTVAR=h1',
      'CLI=1',
      'HOSTVAR2=h2',
      'HOME=/home/app',
    ]);
  });

  it('lets -e KEY with KEY unset on the host remove an image variable (Docker)', async () => {
    const spec = await build({ env: ['DROPME'], image: { env: ['DROPME=x', 'KEEP=y'] } });
    expect(spec.process.env).toEqual([DEFAULT_PATH_ENV, 'KEEP=y', 'HOSTNAME=0123456789ab', 'HOME=/root']);
  });

  it('keeps a HOME that is already set, and uses / when the user is unknown', async () => {
    expect((await build({ env: ['HOME=/custom'] })).process.env).toContain('HOME=/custom');
    expect((await build({ image: { env: ['HOME=/img'] } })).process.env).toContain('HOME=/img');
    const numeric = await build({ user: '4242' });
    expect(numeric.process.env).toContain('HOME=/');
    expect(numeric.process.user).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('takes user, workdir and hostname from options over the image', async () => {
    const spec = await build({
      user: 'app:wheel',
      workdir: '/srv',
      hostname: 'web',
      image: { user: 'root', workingDir: '/app' },
    });
    expect(spec.process.user).toEqual({ uid: 1000, gid: 10, additionalGids: [10], username: 'app' });
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.hostname).toBe('web');
    expect(spec.process.env).toContain('HOSTNAME=web');

    const fromImage = await build({ image: { user: 'app', workingDir: '/app' } });
    expect(fromImage.process.user).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [1000, 100] });
    expect(fromImage.process.cwd).toBe('/app');
  });

  it('sets terminal, console size, read-only root and the init annotation', async () => {
    const spec = await build({ tty: true, consoleSize: { rows: 40, cols: 120 }, readOnly: true, init: true });
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.consoleSize).toEqual({ height: 40, width: 120 });
    expect(spec.process.env).toContain('TERM=xterm');
    expect(spec.root.readonly).toBe(true);
    expect(spec.annotations).toEqual({ [INIT_ANNOTATION]: 'true' });
    // Without a tty there is no console to size.
    expect((await build({ consoleSize: { rows: 40, cols: 120 } })).process.consoleSize).toBeUndefined();
    await expect(build({ tty: true, consoleSize: { rows: -1, cols: 80 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects bad input with the right codes', async () => {
    expect((await rejection(build({ command: [] }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(build({ workdir: 'relative' }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(build({ env: ['=oops'] }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(build({ hostname: 'h'.repeat(65) }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(build({ user: 'ghost' }))).code).toBe('USER_NOT_FOUND');
    expect((await rejection(build({ envFiles: [path.join(tmp, 'missing.env')] }))).code).toBe('ENV_FILE_INVALID');
    const bad = path.join(tmp, 'bad.env');
    await writeFile(bad, 'OK=1\nBAD KEY=1\n');
    const envErr = await rejection(build({ envFiles: [bad] }));
    expect(envErr.code).toBe('ENV_FILE_INVALID');
    expect(envErr.message).toContain(`${bad} line 2`);
  });

  it('checks that the rootfs exists and is a directory', async () => {
    const missing = path.join(tmp, 'nope');
    const notFound = await rejection(build({ rootfs: missing }));
    expect(notFound).toMatchObject({ code: 'ROOTFS_NOT_FOUND', message: `rootfs ${missing} does not exist` });
    const file = path.join(tmp, 'file');
    await writeFile(file, '');
    expect(await rejection(build({ rootfs: file }))).toMatchObject({ code: 'ROOTFS_NOT_FOUND', message: `rootfs ${file} is not a directory` });
    expect((await rejection(build({ rootfs: 'relative/rootfs' }))).code).toBe('INVALID_ARGUMENT');
  });

  it('reads passwd from the rootfs, not from a host path it links to', async () => {
    const hostEtc = path.join(tmp, 'hostetc');
    await mkdir(hostEtc);
    await writeFile(path.join(hostEtc, 'passwd'), 'root:x:0:0:root:/HOST-ROOT:/bin/sh\n');
    await rm(path.join(rootfs, 'etc/passwd'));
    await symlink(path.join(hostEtc, 'passwd'), path.join(rootfs, 'etc/passwd'));
    const spec = await build({});
    expect(spec.process.env).toContain('HOME=/');
    expect(spec.process.env).not.toContain('HOME=/HOST-ROOT');
  });
});
