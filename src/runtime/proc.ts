// What the kernel says about a pid. A recorded pid means our process only
// while /proc/PID/stat shows the start time recorded with it: pids are
// reused (runc's refreshState, crun's check_pid_valid).
import { readText } from '../util/small-files.js';

/** The file pidStartTime reads. */
export const procStatFile = (pid: number): string => `/proc/${pid}/stat`;

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null when the pid is gone. */
export function pidStartTime(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return startTimeIn(readText(procStatFile(pid)));
}

/** pidStartTime from the stat line read already (null: the pid is gone). */
function startTimeIn(stat: string | null): string | null {
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count from
  // the last ')'. Field 3 is the state (a zombie has exited already), field
  // 22 the start time. Found by scanning, not a split into 50 strings: ps
  // reads this for every running container.
  let at = stat.lastIndexOf(')') + 2;
  const state = stat[at];
  if (state === 'Z' || state === 'X') return null;
  for (let field = 3; field < 22; field++) {
    at = stat.indexOf(' ', at) + 1;
    if (at === 0) return null;
  }
  const end = stat.indexOf(' ', at);
  return stat.slice(at, end < 0 ? undefined : end);
}

/** True while `pid` is alive and is the process that started at `start`; `stat`: its /proc/PID/stat, when read already. */
export function isSameProcess(pid: number | undefined, start: string | undefined, stat?: string | null): boolean {
  if (!pid) return false;
  const now = stat === undefined ? pidStartTime(pid) : startTimeIn(stat);
  return now !== null && (start === undefined || now === start);
}

/** Sends a signal; false when the process is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
