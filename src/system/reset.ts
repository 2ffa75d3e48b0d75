// `tsrun system reset`: everything one --root/--runroot holds, gone, so a
// test's or a CI job's root can be thrown away without leaking host-wide
// state: containers (stopped ones first, running ones killed, with their
// cgroups, monitors, veths, port rules and id allocations), build leftovers
// and cache, images, volumes, networks (the default bridge too, with its
// device and nft rules), then any mount still under the two directories,
// and at last the directories themselves. The nft table `ip tsrun` is
// shared by every root on the host; only this root's rules leave it.
import { realpathSync } from 'node:fs';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseMountInfo } from '../util/mountinfo.js';
import { TsrunError } from '../errors.js';
import { MNT_DETACH } from '../native/constants.js';
import type { Tsrun } from '../tsrun.js';
import { hasImageStore } from './prune.js';

export interface ResetReport {
  containers: string[];
  images: string[];
  volumes: string[];
  networks: string[];
  buildCache: number;
  /** The directories removed (or emptied, when one is a mount point). */
  removed: string[];
}

// Never wiped, whatever --root says.
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt', '/opt', '/proc', '/root', '/run',
  '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var', '/var/lib', '/var/run', '/var/tmp', '/run/lock', '/run/user',
]);

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Refuses a --root or --runroot that is a system directory (a typo must not wipe /var). */
export function checkResettable(tsrun: Pick<Tsrun, 'root' | 'runroot'>): void {
  for (const dir of [tsrun.root, tsrun.runroot]) {
    const p = canonical(dir);
    if (SYSTEM_DIRS.has(p)) throw new TsrunError('INVALID_ARGUMENT', `refusing to reset ${dir}: it is a system directory, not a tsrun store`);
  }
}

/** Mount points strictly below `dirs`, deepest first. */
async function mountsUnder(dirs: string[]): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const below = (p: string) => dirs.some((d) => p.startsWith(`${d}/`));
  return [...new Set(parseMountInfo(text).map((m) => m.mountPoint).filter(below))].sort((a, b) => b.length - a.length);
}

async function empty(dir: string): Promise<boolean> {
  for (const name of await readdir(dir).catch(() => null) ?? []) await rm(`${dir}/${name}`, { recursive: true, force: true });
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'EBUSY') return true; // a mount point itself: left empty
    throw err;
  }
}

export async function systemReset(tsrun: Tsrun): Promise<ResetReport> {
  checkResettable(tsrun);
  const failures: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const c = tsrun.containers;

  // Containers: stopped ones first, then the running and paused ones, killed.
  const views = await c.summaries(true);
  const running = (s: string) => s === 'running' || s === 'paused';
  const ordered = [...views.filter((v) => !running(v.status)), ...views.filter((v) => running(v.status))];
  const containers: string[] = [];
  for (const v of ordered) {
    if (await attempt(`container ${v.record.id.slice(0, 12)}`, () => c.remove(v.record.id, true, true).then(() => true))) containers.push(v.record.id);
  }
  // Instances whose record is gone (a CLI killed mid-create or mid-remove): their processes and cgroups.
  for (const id of await c.engine.list()) await attempt(`container instance ${id.slice(0, 12)}`, () => c.engine.delete(id, true));

  // Builds: what killed builds left, and the cache.
  const { pruneBuildCache } = await import('../build/prune.js');
  const cache = hasImageStore(tsrun) ? await attempt('build cache', () => pruneBuildCache(tsrun)) : undefined;

  const images = (await attempt('images', () => tsrun.images.prune(true)))?.deleted ?? [];
  const volumes = (await attempt('volumes', () => tsrun.volumes.prune(true))) ?? [];

  // Every network, the default bridge too: the device and its nft rules are host-wide.
  const networks: string[] = [];
  const nets = await attempt('networks', () => tsrun.networks());
  for (const net of (await attempt('networks', async () => nets?.list())) ?? []) {
    if (await attempt(`network ${net.Name}`, () => nets!.remove(net.Name, { force: true }).then(() => true))) networks.push(net.Name);
  }

  // Container overlays no record names (a build step's, a half-made container's).
  for (const id of await readdir(`${tsrun.root}/overlay`).catch(() => [] as string[])) {
    await attempt(`overlay ${id.slice(0, 12)}`, () => tsrun.images.rootfs.remove(id));
  }

  // Whatever is still mounted below the two directories, deepest first.
  const dirs = [canonical(tsrun.root), canonical(tsrun.runroot)];
  for (const m of await mountsUnder(dirs)) {
    try {
      tsrun.native.umount(m, MNT_DETACH);
    } catch {
      // gone meanwhile, or refused: checked just below
    }
  }
  const left = await mountsUnder(dirs);
  // Removing the directories would reach through a mount, or lose the
  // records of host-wide state (a bridge, a cgroup) a retry must find.
  if (left.length) failures.unshift(`still mounted: ${left.join(', ')}`);
  if (failures.length) throw new TsrunError('INVALID_STATE', `cannot reset ${tsrun.root} fully, so it is kept for another try: ${failures.join('; ')}`);
  const removed: string[] = [];
  for (const d of [tsrun.root, tsrun.runroot]) if (await empty(d)) removed.push(d);
  return { containers, images, volumes, networks, buildCache: cache?.entries ?? 0, removed };
}
