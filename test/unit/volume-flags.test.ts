// -v, --mount, --tmpfs and --volumes-from parsing (volume/flags.ts), and the
// OCI entries recorded mounts become (volume/mounts.ts): pure, no root.
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import {
  parseMountFlag, parseMountFlags, parseSize, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom,
} from '../../src/volume/flags.js';
import { applyMounts, ociMount } from '../../src/volume/mounts.js';

function invalid(fn: () => unknown, msg: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
    return;
  }
  throw new Error('expected an error');
}

describe('-v', () => {
  it('a host path is a bind, with ro/rw, z and a propagation', () => {
    expect(parseVolumeFlag('/host/dir:/ctr/dir')).toEqual({
      type: 'bind', source: '/host/dir', target: '/ctr/dir', readonly: false, propagation: 'rprivate', createSource: true, mode: '', bind: '/host/dir:/ctr/dir',
    });
    expect(parseVolumeFlag('/h:/c/:ro,z')).toMatchObject({ type: 'bind', target: '/c', readonly: true, mode: 'ro,z' });
    expect(parseVolumeFlag('/h:/c:rw,rshared')).toMatchObject({ readonly: false, propagation: 'rshared' });
    expect(parseVolumeFlag('./rel:/c')).toMatchObject({ type: 'bind', source: `${process.cwd()}/rel` });
  });

  it('a name is a named volume; a lone path an anonymous one', () => {
    expect(parseVolumeFlag('data:/var/lib/x')).toEqual({ type: 'volume', name: 'data', target: '/var/lib/x', readonly: false, noCopy: false, mode: 'z', bind: 'data:/var/lib/x' });
    expect(parseVolumeFlag('data:/x:ro,nocopy')).toMatchObject({ name: 'data', readonly: true, noCopy: true });
    expect(parseVolumeFlag('/anon')).toEqual({ type: 'volume', target: '/anon', readonly: false, noCopy: false, mode: 'z' });
    expect(parseVolumeFlag('/anon:ro')).toMatchObject({ type: 'volume', target: '/anon', readonly: true });
  });

  it('refuses a bad mode, a relative or root destination, a bad name, too many colons', () => {
    invalid(() => parseVolumeFlag('/h:/c:xyz'), /invalid mode: xyz/);
    invalid(() => parseVolumeFlag('/h:/c:ro,rw'), /invalid mode/);
    invalid(() => parseVolumeFlag('/h:relative'), /not absolute/);
    invalid(() => parseVolumeFlag('/h:/'), /can't be '\/'/);
    invalid(() => parseVolumeFlag('x:/c'), /invalid volume name "x"/);
    invalid(() => parseVolumeFlag('bad$name:/c'), /invalid volume name/);
    invalid(() => parseVolumeFlag('/a:/b:ro:z'), /too many colons/);
    invalid(() => parseVolumeFlag('data:/c:rshared'), /propagation is only for bind/);
    invalid(() => parseVolumeFlag(':/c'), /empty source/);
  });
});

describe('--mount', () => {
  it('bind, volume and tmpfs with their options', () => {
    expect(parseMountFlag('type=bind,source=/h,target=/c,readonly')).toMatchObject({ type: 'bind', source: '/h', target: '/c', readonly: true, createSource: false });
    expect(parseMountFlag('type=bind,src=/h,dst=/c,ro=false,bind-propagation=rslave')).toMatchObject({ readonly: false, propagation: 'rslave' });
    expect(parseMountFlag('source=vol,target=/c,volume-nocopy,volume-label=a=b')).toMatchObject({ type: 'volume', name: 'vol', noCopy: true, labels: { a: 'b' } });
    expect(parseMountFlag('type=volume,target=/c')).toMatchObject({ type: 'volume', target: '/c' });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770')).toEqual({
      type: 'tmpfs', target: '/t', options: ['nosuid', 'nodev', 'noexec', `size=${64 * 1024 * 1024}`, 'mode=1770'],
    });
  });

  it('refuses what Docker refuses', () => {
    invalid(() => parseMountFlag('type=bind,target=/c'), /source is required/);
    invalid(() => parseMountFlag('type=bind,source=/h'), /target is required/);
    invalid(() => parseMountFlag('type=tmpfs,source=x,target=/t'), /source is not allowed/);
    invalid(() => parseMountFlag('type=nfs,target=/t'), /unknown mount type/);
    invalid(() => parseMountFlag('type=bind,source=/h,target=/c,foo=bar'), /unexpected key "foo"/);
    invalid(() => parseMountFlag('type=tmpfs,target=/t,tmpfs-mode=999'), /not octal/);
    invalid(() => parseMountFlag('type=tmpfs,target=/t,tmpfs-size=lots'), /not a size/);
    invalid(() => parseMountFlag('type=volume,source=vol,target=/c,bind-propagation=shared'), /bind-propagation is not allowed/);
    invalid(() => parseMountFlag('type=bind,source=/h,target=c'), /not absolute/);
  });
});

describe('--tmpfs, --volumes-from, sizes, duplicates', () => {
  it('--tmpfs keeps Docker defaults and adds the user options', () => {
    expect(parseTmpfsFlag('/tmp')).toEqual({ type: 'tmpfs', target: '/tmp', options: ['nosuid', 'nodev', 'noexec'] });
    expect(parseTmpfsFlag('/run:size=64m,mode=1777,exec')).toEqual({ type: 'tmpfs', target: '/run', options: ['nosuid', 'nodev', 'noexec', 'size=64m', 'mode=1777', 'exec'] });
    invalid(() => parseTmpfsFlag('/run:bogus'), /unknown option "bogus"/);
    invalid(() => parseTmpfsFlag('/run:size=big'), /invalid size/);
    invalid(() => parseTmpfsFlag('run'), /not absolute/);
  });

  it('--volumes-from CONTAINER[:ro|rw]', () => {
    expect(parseVolumesFrom('c1')).toEqual({ container: 'c1' });
    expect(parseVolumesFrom('c1:ro')).toEqual({ container: 'c1', mode: 'ro' });
    invalid(() => parseVolumesFrom('c1:xyz'), /invalid mode: xyz/);
  });

  it('sizes use binary units', () => {
    expect(parseSize('64m', 'x')).toBe(64 * 1024 * 1024);
    expect(parseSize('1g', 'x')).toBe(1024 ** 3);
    expect(parseSize('100', 'x')).toBe(100);
  });

  it('two mounts on one path are refused, whichever flags they come from', () => {
    invalid(() => parseMountFlags({ volume: ['/h:/c', 'v1:/c/'] }), /duplicate mount point: \/c/);
    invalid(() => parseMountFlags({ volume: ['/a:/c'], tmpfs: ['/c'] }), /duplicate mount point/);
    const ok = parseMountFlags({ volume: ['/a:/c'], mount: ['type=tmpfs,target=/t'], volumesFrom: ['x:rw'] });
    expect(ok.mounts.map((m) => m.target)).toEqual(['/c', '/t']);
    expect(ok.volumesFrom).toEqual([{ container: 'x', mode: 'rw' }]);
  });
});

describe('OCI entries', () => {
  it('binds and volumes are rbind with ro/rw and a propagation; tmpfs keeps its options', () => {
    expect(ociMount({ Type: 'bind', Source: '/h', Destination: '/c', Mode: 'ro', RW: false, Propagation: 'rprivate' }))
      .toEqual({ destination: '/c', type: 'bind', source: '/h', options: ['rbind', 'ro', 'rprivate'] });
    expect(ociMount({ Type: 'volume', Name: 'v', Source: '/r/volumes/v/_data', Destination: '/c', Mode: 'z', RW: true, Propagation: '' }))
      .toEqual({ destination: '/c', type: 'bind', source: '/r/volumes/v/_data', options: ['rbind', 'rw', 'rprivate'] });
    expect(ociMount({ Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '', Options: ['size=1m'] }))
      .toEqual({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  });

  it('a user mount replaces the default one at the same path', () => {
    const spec = { ociVersion: '1', process: {} as never, root: { path: '/r' }, mounts: [{ destination: '/proc' }, { destination: '/dev/shm', type: 'tmpfs' }] };
    applyMounts(spec, [{ destination: '/dev/shm', type: 'tmpfs', options: ['size=1m'] }]);
    expect(spec.mounts).toEqual([{ destination: '/proc' }, { destination: '/dev/shm', type: 'tmpfs', options: ['size=1m'] }]);
  });
});
