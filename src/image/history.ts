// `history`: the image config's history entries, newest first. Entries that
// made no layer (empty_layer) have size 0; the others take the layers in
// order, as Docker pairs them.
import type { ImageView } from './images.js';

export interface HistoryEntry {
  /** The image id on the newest entry only; older ones are <missing> (no intermediate images here, as after a pull in Docker). */
  id?: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
}

export async function imageHistory(view: ImageView, layerSize: (diffId: string) => Promise<number>): Promise<HistoryEntry[]> {
  const diffIds = view.config.rootfs.diff_ids;
  const history = view.config.history?.length
    ? view.config.history
    : diffIds.map(() => ({ created: view.config.created, created_by: '', comment: '', empty_layer: false }));
  let layer = 0;
  const out: HistoryEntry[] = [];
  for (const h of history) {
    const size = h.empty_layer || layer >= diffIds.length ? 0 : await layerSize(diffIds[layer++]);
    out.push({ created: h.created, createdBy: h.created_by ?? '', size, comment: h.comment ?? '' });
  }
  out.reverse();
  if (out.length) out[0].id = view.record.id;
  return out;
}
