// Every container's summary (`ps`, the API's container list, system df and
// info): its record, the command and image it shows, and its status from
// the kernel. Read without locks (every state file is replaced whole), and
// in two batches of files for all containers at once (native.readTexts):
// records and instance records, then what each instance's state needs
// (exec.fifo is only looked for; a health file is read when there is a check).
// Small on purpose: `ps` calls it without loading the engine.
import { readdirSync } from 'node:fs';
import type { CgroupDeps } from '../cgroups/types.js';
import type { NativeBinding } from '../native/binding.js';
import type { OciSpec } from '../spec/oci.js';
import { parseOr, readText } from '../util/small-files.js';
import { containerStatus } from './container-status.js';
import type { ContainerSummary, DockerStatus } from './containers.js';
import type { EngineRecord } from './engine.js';
import { instanceState, instanceStateFiles, type StateFiles } from './instance-state.js';
import { instancesDir, recordsDir } from './state-dirs.js';
import type { ContainerState } from './store.js';

/** Where the containers are, and the kernel facade and cgroups to read their states with. */
export interface ListPlaces {
  records: string;
  instances: string;
  native: Pick<NativeBinding, 'readTexts' | 'flock'>;
  cgroups: CgroupDeps;
}

/** The places under --root and --runroot, with the host's cgroups unless `cgroups` says otherwise. */
export function listPlaces(root: string, runroot: string, native: NativeBinding, cgroups?: Partial<CgroupDeps>): ListPlaces {
  return { records: recordsDir(root), instances: instancesDir(runroot), native, cgroups: { native, ...cgroups } };
}

/** Every container (`all`), or the running, paused and restarting ones, newest first. */
export async function containerSummaries(at: ListPlaces, all: boolean): Promise<ContainerSummary[]> {
  const ids = entries(at.records);
  const paths: string[] = [];
  for (const id of ids) paths.push(`${at.records}/${id}/state.json`, `${at.instances}/${id}/state.json`);
  const texts = at.native.readTexts(paths);
  // Each instance's state files, by their place in the second batch.
  const statePaths: string[] = [];
  const place = (path: string | undefined) => (path === undefined ? undefined : statePaths.push(path) - 1);
  const instances: (EngineRecord | null)[] = new Array(ids.length);
  const stateFiles: (StateFiles<number | undefined> | undefined)[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const instance = (instances[i] = parseOr<EngineRecord, null>(texts[2 * i + 1], null));
    if (!instance) continue;
    const f = instanceStateFiles(instance, { dir: `${at.instances}/${ids[i]}`, cgroups: at.cgroups });
    stateFiles[i] = { exit: place(f.exit), procStat: place(f.procStat), frozen: place(f.frozen) };
  }
  const stateTexts = at.native.readTexts(statePaths);
  const text = (k: number | undefined) => (k === undefined ? null : (stateTexts[k] ?? null));
  const found: ContainerSummary[] = [];
  for (let i = 0; i < ids.length; i++) {
    // Removed meanwhile, or still being created: left out.
    const record = parseOr<ContainerState, undefined>(texts[2 * i], undefined);
    if (!record) continue;
    const id = ids[i]!;
    const dir = `${at.instances}/${id}`;
    let { command } = record;
    let image = record.request?.image;
    if (!command || !image) {
      // A record older than its `command` field: the spec says.
      const spec = parseOr<OciSpec, undefined>(readText(`${at.records}/${id}/config.json`), undefined);
      if (!spec) continue;
      command ??= spec.process.args;
      image ??= spec.root.path;
    }
    const instance = instances[i]!;
    const f = stateFiles[i]!;
    try {
      const st = instance && instanceState(id, instance, { dir, cgroups: at.cgroups, native: at.native }, { exit: text(f.exit), procStat: text(f.procStat), frozen: text(f.frozen) });
      const v = containerStatus(record, st, dir) as ContainerSummary;
      v.record = record;
      v.command = command;
      v.image = image;
      found.push(v);
    } catch {} // its state cannot be told now (the kernel facade failing): left out, as a removed one
  }
  return shownNewestFirst(found, all);
}

/** The containers ps shows (all, or the running, paused and restarting ones), newest first. */
export function shownNewestFirst<T extends { record: ContainerState; status: DockerStatus }>(found: T[], all: boolean): T[] {
  const shown = all ? found : found.filter((v) => v.status === 'running' || v.status === 'paused' || v.status === 'restarting');
  // ISO 8601 times in one format sort as plain strings (localeCompare
  // would first load ICU's collator: ~9 ms).
  return shown.sort((a, b) => (a.record.created < b.record.created ? 1 : a.record.created > b.record.created ? -1 : 0));
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
