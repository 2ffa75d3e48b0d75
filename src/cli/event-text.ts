// `tsrun events` output: Docker's default line (docker/cli's prettyPrintEvent).
import type { EventMessage } from '../events/types.js';
import { isoTime } from '../util/iso-time.js';

/** `2026-12-04T23:25:55.266000000Z container start ID (image=..., name=...)`: attributes sorted by key. */
export function eventText(ev: EventMessage): string {
  const attrs = Object.keys(ev.Actor.Attributes ?? {}).sort().map((k) => `${k}=${ev.Actor.Attributes[k]}`);
  return `${nanoTime(ev.timeNano)} ${ev.Type} ${ev.Action} ${ev.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`;
}

/**
 * RFC 3339 with nine fractional digits, in UTC (Docker's RFC3339NanoFixed).
 * Journal times are whole milliseconds; a double holds ~1.8e18 only to
 * 256 ns, so the digits below the millisecond are zeros, not noise.
 */
export function nanoTime(timeNano: number): string {
  const iso = isoTime(Math.round(timeNano / 1e6)); // 2026-12-04T23:25:55.266Z
  return `${iso.slice(0, 23)}000000Z`;
}
