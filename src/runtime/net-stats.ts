// A container's network traffic (`stats` NET I/O), read from the network
// namespace of its init process: /proc/PID/net/dev shows the interfaces of
// the namespace the process is in. Loopback is left out, as Docker does
// (it counts only the container's endpoints).
import { readFileSync } from 'node:fs';

export interface NetIO {
  rxBytes: number;
  txBytes: number;
}

/** /proc/net/dev's text: a two-line header, then "IFACE: rx-bytes rx-packets ... tx-bytes ..." (tx bytes is the 9th number). */
export function parseNetDev(text: string): NetIO {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === 'lo') continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rxBytes += fields[0] || 0;
    txBytes += fields[8] || 0;
  }
  return { rxBytes, txBytes };
}

/** The traffic of the network namespace `pid` is in, or null when the process is gone. */
export function readNetIO(pid: number): NetIO | null {
  if (!pid) return null;
  try {
    return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return null;
  }
}
