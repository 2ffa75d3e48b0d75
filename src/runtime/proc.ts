// What the kernel says about a pid. A recorded pid means our process only
// while /proc/PID/stat shows the start time recorded with it: pids are
// reused (runc's refreshState, crun's check_pid_valid).
import { readFileSync } from 'node:fs';

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null when the pid is gone. */
export function pidStartTime(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited already.
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] ?? null;
}

/** True while `pid` is alive and is the process that started at `start`. */
export function isSameProcess(pid: number | undefined, start: string | undefined): boolean {
  if (!pid) return false;
  const now = pidStartTime(pid);
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
