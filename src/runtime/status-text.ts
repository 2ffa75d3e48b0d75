// Docker's container status string ("Up 5 seconds", "Exited (0) ..."), in core because `ps` and the API's container list both show it.
import { humanDuration } from '../util/human-duration.js';
import type { ContainerView } from './containers.js';

/** `Up 5 seconds`, `Up 5 seconds (healthy)`, `Up 1 second (health: starting)`, `Up 2 minutes (Paused)`, `Exited (0) 3 seconds ago`, `Created`. */
export function statusText(v: Pick<ContainerView, 'status' | 'startedAt' | 'finishedAt' | 'exitCode' | 'record' | 'health'>, now = Date.now()): string {
  const since = (t: string | undefined) => humanDuration(now - Date.parse(t ?? new Date(now).toISOString()));
  switch (v.status) {
    // Docker's State.String(): the health after the time, `health: starting` until the first result.
    case 'running': return `Up ${since(v.startedAt)}${v.health ? ` (${v.health.Status === 'starting' ? 'health: starting' : v.health.Status})` : ''}`;
    case 'paused': return `Up ${since(v.startedAt)} (Paused)`;
    case 'created': return 'Created';
    case 'exited': return `Exited (${v.exitCode}) ${since(v.finishedAt ?? v.startedAt ?? v.record.created)} ago`;
    // Docker's, while a restart policy waits to start it again: the last exit's code and time.
    case 'restarting': return `Restarting (${v.exitCode}) ${since(v.finishedAt ?? v.startedAt ?? v.record.created)} ago`;
  }
}
