// `tsrun system df` as `docker system df` prints it: the summary table, or
// with -v a table per kind; `--format json` one line per kind.
import { statusText } from '../runtime/status-text.js';
import type { ContainerState } from '../runtime/store.js';
import type { DiskUsage, UsageSummary } from '../system/df.js';
import { humanDuration } from '../util/human-duration.js';
import { commandText, decimalSize, jsonLines, table } from './format.js';

const KINDS: [keyof DiskUsage['summary'], string][] = [['images', 'Images'], ['containers', 'Containers'], ['volumes', 'Local Volumes'], ['buildCache', 'Build Cache']];

function reclaimable(s: UsageSummary, percent: boolean): string {
  const size = decimalSize(s.reclaimable);
  return percent && s.size > 0 ? `${size} (${Math.floor((s.reclaimable * 100) / s.size)}%)` : size;
}

export function dfSummaryText(du: DiskUsage): string {
  return table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], KINDS.map(([k, label]) => {
    const s = du.summary[k];
    return [label, String(s.total), String(s.active), decimalSize(s.size), reclaimable(s, k !== 'buildCache')];
  }));
}

/** The summary's rows as Docker's formatter gives them to --format (json lines, templates). */
export function dfSummaryRows(du: DiskUsage): Array<Record<'Active' | 'Reclaimable' | 'Size' | 'TotalCount' | 'Type', string>> {
  return KINDS.map(([k, label]) => {
    const s = du.summary[k];
    return { Active: String(s.active), Reclaimable: reclaimable(s, k !== 'buildCache'), Size: decimalSize(s.size), TotalCount: String(s.total), Type: label };
  });
}

export function dfSummaryJson(du: DiskUsage): string {
  return jsonLines(dfSummaryRows(du));
}

export function dfVerboseText(du: DiskUsage, now = Date.now()): string {
  const ago = (t: string | undefined) => (t ? `${humanDuration(now - Date.parse(t))} ago` : '');
  const images = table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'], du.images.map((i) => {
    const name = i.repoTags[0];
    const at = name ? name.lastIndexOf(':') : -1;
    return [name ? name.slice(0, at) : '<none>', name ? name.slice(at + 1) : '<none>', i.id.replace(/^sha256:/, '').slice(0, 12),
      ago(i.created), decimalSize(i.size), decimalSize(i.sharedSize), decimalSize(i.uniqueSize), String(i.containers)];
  }));
  const containers = table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'], du.containers.map((c) => [
    c.id.slice(0, 12), c.image, commandText(c.command, true), String(c.localVolumes), decimalSize(c.sizeRw), ago(c.created),
    statusText({ ...c, record: { created: c.created } as ContainerState }, now), c.name,
  ]));
  const volumes = table(['VOLUME NAME', 'LINKS', 'SIZE'], du.volumes.map((v) => [v.name, String(v.links), decimalSize(v.size)]));
  const cache = table(['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'], du.buildCache.map((b) => [
    b.id, b.type, decimalSize(b.size), ago(b.created), '', '', String(b.shared),
  ]));
  return `Images space usage:\n\n${images}\nContainers space usage:\n\n${containers}\nLocal Volumes space usage:\n\n${volumes}\n`
    + `Build cache usage: ${decimalSize(du.summary.buildCache.size)}\n\n${cache}`;
}
