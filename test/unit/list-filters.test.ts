// Docker's list filters in core: parsing (src/util/filters.ts), `ps`'s
// (src/runtime/container-filters.ts) and `images`'s (src/image/image-filters.ts).
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { containerFilter, filtersListAll, type ContainerFilterLookup } from '../../src/runtime/container-filters.js';
import type { ContainerSummary, DockerStatus } from '../../src/runtime/containers.js';
import type { ContainerRequest } from '../../src/runtime/store.js';
import { imageFilter } from '../../src/image/image-filters.js';
import type { ImageView } from '../../src/image/images.js';
import { globMatch, matchLabels, parseFilterFlags, parseFilterJson } from '../../src/util/filters.js';
import { rejection, thrown } from '../helpers/expect-error.js';

describe('filter arguments', () => {
  it('parses the CLI\'s key=value flags (key lower-cased, values kept in order without repeats)', () => {
    expect(parseFilterFlags(['label=a=1', 'Label = b ', 'status=exited', 'label=a=1'])).toEqual(new Map([['label', ['a=1', 'b']], ['status', ['exited']]]));
    expect(thrown(() => parseFilterFlags(['status'])).message).toBe('bad format of filter (expected name=value): status');
  });

  it('parses the Engine API\'s JSON, both shapes', () => {
    expect(parseFilterJson('{"label":["k=v","x"],"status":{"running":true,"exited":false}}')).toEqual(new Map([['label', ['k=v', 'x']], ['status', ['running']]]));
    expect(parseFilterJson('')).toEqual(new Map());
    expect(thrown(() => parseFilterJson('{"label":"k"}')).message).toBe("invalid filter 'label'");
    expect(thrown(() => parseFilterJson('[1]')).code).toBe('INVALID_ARGUMENT');
  });

  it('label filters: key or key=value, all of them must hold', () => {
    const labels = { a: '1', b: '' };
    expect(matchLabels(['a'], labels)).toBe(true);
    expect(matchLabels(['a=1', 'b'], labels)).toBe(true);
    expect(matchLabels(['a=1', 'c'], labels)).toBe(false);
    expect(matchLabels(['a=2'], labels)).toBe(false);
    expect(matchLabels(['b='], labels)).toBe(true);
    expect(matchLabels(['a'], undefined)).toBe(false);
    expect(matchLabels([], undefined)).toBe(true);
  });

  it('globs as Go\'s path.Match', () => {
    expect(globMatch('busy*:lat*', 'busybox:latest')).toBe(true);
    expect(globMatch('busy*', 'localhost/busybox')).toBe(false);
    expect(globMatch('*/busy?ox', 'localhost/busybox')).toBe(true);
    expect(globMatch('[a-c]b', 'bb')).toBe(true);
    expect(globMatch('[^a-c]b', 'bb')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(thrown(() => globMatch('[', 'x')).message).toBe('syntax error in pattern: [');
  });
});

const HOUR = 3_600_000;
const iso = (h: number) => new Date(Date.UTC(2024, 0, 1) + h * HOUR).toISOString();

let serial = 0;
function c(name: string, status: DockerStatus, created: number, request: Partial<ContainerRequest> = {}, exitCode = 0): ContainerSummary {
  const id = `${(++serial).toString(16).padStart(4, 'a')}`.padEnd(64, '0');
  return {
    record: { id, name, status: status === 'exited' ? 'exited' : status === 'created' ? 'created' : 'running', created: iso(created), request: { image: 'busybox', ...request } },
    status, pid: 0, exitCode, oomKilled: false, command: ['sh'], image: request.image ?? 'busybox',
  };
}

const all = [
  c('web', 'running', 3, { labels: { app: 'shop', tier: 'web' }, imageId: 'sha256:aaa', network: { mode: 'front', networks: { front: {} }, extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] } }),
  c('db', 'exited', 2, { labels: { app: 'shop' }, mounts: [{ Type: 'volume', Name: 'pgdata', Source: '/v/pgdata', Destination: '/var/lib/pg', Mode: 'z', RW: true, Propagation: '' }] }, 3),
  c('job', 'exited', 1, { image: '/srv/rootfs', network: { mode: 'host', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] } }, 0),
  c('new', 'created', 4, { mounts: [{ Type: 'bind', Source: '/etc/app', Destination: '/cfg', Mode: '', RW: false, Propagation: 'rprivate' }] }),
  c('paused-1', 'paused', 0),
];

const lookup: ContainerFilterLookup = {
  container: async (ref) => {
    const hit = all.find((x) => x.record.name === ref || x.record.id.startsWith(ref));
    if (!hit) throw new TsrunError('CONTAINER_NOT_FOUND', `No such container: ${ref}`);
    return { id: hit.record.id, created: hit.record.created };
  },
  imageIds: async (ref) => (ref === 'shop:1' || ref === 'aaa' ? ['sha256:aaa'] : []),
  networkNames: async (ref) => (ref === '7f3e' ? ['front'] : []),
};

async function names(flags: string[]): Promise<string[]> {
  const keep = await containerFilter(parseFilterFlags(flags), lookup);
  return all.filter(keep).map((x) => x.record.name);
}

describe('ps --filter', () => {
  it('id is a prefix, name a regular expression (with or without Docker\'s leading slash)', async () => {
    expect(await names([`id=${all[1].record.id.slice(0, 5)}`])).toEqual(['db']);
    expect(await names(['name=^/?(web|db)$'])).toEqual(['web', 'db']);
    expect(await names(['name=^/web$'])).toEqual(['web']);
    expect(await names(['name=e'])).toEqual(['web', 'new', 'paused-1']);
  });

  it('label: key or key=value; several label filters must all hold', async () => {
    expect(await names(['label=app'])).toEqual(['web', 'db']);
    expect(await names(['label=app=shop', 'label=tier=web'])).toEqual(['web']);
    expect(await names(['label=tier=db'])).toEqual([]);
  });

  it('the same key twice is OR, different keys AND', async () => {
    expect(await names(['status=exited', 'status=created'])).toEqual(['db', 'job', 'new']);
    expect(await names(['status=exited', 'status=created', 'label=app'])).toEqual(['db']);
  });

  it('status, exited (codes of exited containers), health (every container is none)', async () => {
    expect(await names(['status=paused'])).toEqual(['paused-1']);
    expect(await names(['status=dead'])).toEqual([]);
    expect(await names(['exited=3'])).toEqual(['db']);
    expect(await names(['exited=0'])).toEqual(['job']);
    expect(await names(['health=none'])).toHaveLength(5);
    expect(await names(['health=healthy'])).toEqual([]);
  });

  it('before and since another container; ancestor by image id or reference, or a --rootfs directory', async () => {
    expect(await names(['before=web'])).toEqual(['db', 'job', 'paused-1']);
    expect(await names(['since=db'])).toEqual(['web', 'new']);
    expect(await names(['since=job', 'before=new'])).toEqual(['web', 'db']);
    expect(await names(['ancestor=shop:1'])).toEqual(['web']);
    expect(await names(['ancestor=/srv/rootfs'])).toEqual(['job']);
    expect(await names(['ancestor=nothing:here'])).toEqual([]);
    expect((await rejection(containerFilter(parseFilterFlags(['since=nosuch']), lookup))).code).toBe('CONTAINER_NOT_FOUND');
  });

  it('volume by name, bind source or destination; network by name, id or mode', async () => {
    expect(await names(['volume=pgdata'])).toEqual(['db']);
    expect(await names(['volume=/var/lib/pg'])).toEqual(['db']);
    expect(await names(['volume=/etc/app'])).toEqual(['new']);
    expect(await names(['network=front'])).toEqual(['web']);
    expect(await names(['network=7f3e'])).toEqual(['web']);
    expect(await names(['network=host'])).toEqual(['job']);
  });

  it('refuses unknown keys and bad values before any lookup', async () => {
    const refuse = async (f: string) => (await rejection(containerFilter(parseFilterFlags([f]), lookup))).message;
    expect(await refuse('foo=bar')).toBe("invalid filter 'foo'");
    expect(await refuse('status=up')).toBe("invalid filter 'status=up'");
    expect(await refuse('health=sick')).toBe("invalid filter 'health=sick'");
    expect(await refuse('exited=x')).toBe("invalid filter 'exited=x'");
    expect(await refuse('name=(')).toBe("invalid filter 'name=(': not a valid regular expression");
  });

  it('a status filter lists stopped containers without --all, as Docker', () => {
    expect(filtersListAll(parseFilterFlags(['status=exited']))).toBe(true);
    expect(filtersListAll(parseFilterFlags(['label=a']))).toBe(false);
  });
});

function img(tags: string[], created: number, labels?: Record<string, string>): ImageView {
  return {
    record: { id: `sha256:${tags.join().length}${created}`.padEnd(71, '0'), manifestDigest: '', manifestMediaType: '', repoDigests: [], layers: [], added: iso(created) },
    config: { architecture: 'amd64', os: 'linux', created: iso(created), rootfs: { type: 'layers', diff_ids: [] }, ...(labels ? { config: { Labels: labels } } : {}) },
    repoTags: tags,
    size: 0,
  };
}

describe('images --filter', () => {
  const images = [img(['busybox:latest', 'busybox:1.36'], 3, { a: '1' }), img(['localhost/app:v1'], 2, { a: '2', b: '' }), img([], 1), img(['alpine:3'], 0)];
  const byName = (ref: string) => {
    const hit = images.find((i) => i.repoTags.includes(ref));
    return hit ? Promise.resolve(hit) : Promise.reject(new Error(`No such image: ${ref}`));
  };
  const list = async (flags: string[]) => {
    const f = await imageFilter(parseFilterFlags(flags), byName);
    return images.filter(f.keep).map((i) => f.tags(i).join(',') || '<none>');
  };

  it('dangling, label, reference (a glob on name:tag or name, listing only the names that match)', async () => {
    expect(await list(['dangling=true'])).toEqual(['<none>']);
    expect(await list(['dangling=false'])).toEqual(['busybox:latest,busybox:1.36', 'localhost/app:v1', 'alpine:3']);
    expect(await list(['label=a'])).toEqual(['busybox:latest,busybox:1.36', 'localhost/app:v1']);
    expect(await list(['label=a=2', 'label=b'])).toEqual(['localhost/app:v1']);
    expect(await list(['reference=busy*:lat*'])).toEqual(['busybox:latest']);
    expect(await list(['reference=busybox'])).toEqual(['busybox:latest,busybox:1.36']);
    expect(await list(['reference=*/app', 'reference=alpine'])).toEqual(['localhost/app:v1', 'alpine:3']);
  });

  it('before and since another image', async () => {
    expect(await list(['before=localhost/app:v1'])).toEqual(['<none>', 'alpine:3']);
    expect(await list(['since=localhost/app:v1'])).toEqual(['busybox:latest,busybox:1.36']);
    await expect(list(['since=nope:1'])).rejects.toThrow('No such image: nope:1');
  });

  it('refuses unknown keys, bad booleans and bad globs', async () => {
    const refuse = async (f: string) => (await rejection(imageFilter(parseFilterFlags([f]), byName))).message;
    expect(await refuse('status=x')).toBe("invalid filter 'status'");
    expect(await refuse('dangling=maybe')).toBe("invalid filter 'dangling=maybe'");
    expect(await refuse('reference=[')).toBe('syntax error in pattern: [');
  });
});
