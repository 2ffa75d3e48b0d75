// What one build has set up on the host, written down as it happens so that
// a build killed with SIGKILL leaves nothing that the next build (or
// `tsrun builder prune`) cannot find and remove:
//   <root>/build/work/<pid>.<start>/        this build's scratch (the context of `build -`, downloads)
//   <root>/build/work/<pid>.<start>.json    containers and overlays it made and has not removed yet
// A process that runs several builds (the API service) names the second
// and later ones <pid>.<start>-<n>. A sweep removes the entries of builds
// whose process is gone (pid + start time, as the runtime checks a
// container's pid).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidStartTime } from '../runtime/proc.js';
import type { Tsrun } from '../tsrun.js';

interface Leftovers {
  containers: string[];
  overlays: string[];
}

/** Workspaces this process opened: each build of a long-lived process gets its own. */
let opened = 0;

export class BuildWorkspace {
  readonly dir: string;
  private readonly record: string;
  private readonly live: Leftovers = { containers: [], overlays: [] };
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly tsrun: Tsrun, workRoot: string, tag: string) {
    this.dir = join(workRoot, tag);
    this.record = `${this.dir}.json`;
  }

  static async open(tsrun: Tsrun): Promise<BuildWorkspace> {
    const workRoot = join(tsrun.root, 'build', 'work');
    await mkdir(workRoot, { recursive: true, mode: 0o700 });
    await sweepWork(tsrun, workRoot);
    const n = opened++;
    const ws = new BuildWorkspace(tsrun, workRoot, `${process.pid}.${pidStartTime(process.pid) ?? 0}${n ? `-${n}` : ''}`);
    await mkdir(ws.dir, { recursive: true, mode: 0o700 });
    return ws;
  }

  /** A fresh overlay id for a step (overlay/<id>), recorded before it is mounted. */
  async overlayId(): Promise<string> {
    const id = `build-${randomBytes(8).toString('hex')}`;
    this.live.overlays.push(id);
    await this.save();
    return id;
  }

  /** A container's name, recorded before it is created. */
  async containerCreated(name: string): Promise<void> {
    this.live.containers.push(name);
    await this.save();
  }

  async released(id: string): Promise<void> {
    this.live.containers = this.live.containers.filter((c) => c !== id);
    this.live.overlays = this.live.overlays.filter((o) => o !== id);
    await this.save();
  }

  /** Removes the build's containers that still exist (killing what runs in them). */
  async stopContainers(): Promise<void> {
    await removeLeftovers(this.tsrun, { containers: this.live.containers, overlays: [] });
  }

  /** Removes whatever is still recorded, then the scratch dir and the record. */
  async close(): Promise<void> {
    await removeLeftovers(this.tsrun, this.live);
    await rm(this.dir, { recursive: true, force: true });
    await rm(this.record, { force: true });
  }

  private save(): Promise<void> {
    // Writes in order; parallel stages record concurrently.
    const snapshot = JSON.stringify(this.live);
    this.writing = this.writing.then(() => writeFile(this.record, snapshot));
    return this.writing;
  }
}

async function removeLeftovers(tsrun: Tsrun, left: Leftovers): Promise<void> {
  const { removeByName } = await import('./run-step.js');
  for (const name of left.containers) await removeByName(tsrun, name).catch(() => {});
  for (const id of left.overlays) await tsrun.images.rootfs.remove(id).catch(() => {});
}

/** Removes the leftovers of builds whose process is gone. */
export async function sweepWork(tsrun: Tsrun, workRoot = join(tsrun.root, 'build', 'work')): Promise<number> {
  let names: string[];
  try {
    names = await readdir(workRoot);
  } catch {
    return 0;
  }
  let swept = 0;
  for (const name of names) {
    const m = /^(\d+)\.(\d+)(?:-\d+)?(\.json)?$/.exec(name);
    if (!m || pidStartTime(Number(m[1])) === m[2]) continue;
    if (m[3]) {
      const left = JSON.parse(await readFile(join(workRoot, name), 'utf8').catch(() => '{}')) as Partial<Leftovers>;
      await removeLeftovers(tsrun, { containers: left.containers ?? [], overlays: left.overlays ?? [] });
      swept++;
    }
    await rm(join(workRoot, name), { recursive: true, force: true });
  }
  return swept;
}
