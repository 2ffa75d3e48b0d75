// A container's status as Docker shows it (created, running, paused,
// restarting, exited, with its exit code and health), from its record and,
// while it has one, its engine instance's state. Pure but for the restart
// policy's pending process and the health file: `ps` derives it for every
// container without loading the engine.
import { readFileSync } from 'node:fs';
import { healthActive } from '../health/config.js';
import { readHealth } from '../health/state.js';
import type { ContainerView } from './containers.js';
import type { EngineState } from './engine.js';
import { isSameProcess } from './proc.js';
import { restarts, shouldRestart } from './restart-policy.js';
import type { ContainerState } from './store.js';

// An exit the monitor could not record: Docker reports such a container as
// exited; the code is unknown.
export const UNKNOWN_EXIT = 255;

export type StatusFields = Omit<ContainerView, 'record' | 'spec'>;

/**
 * The status fields of a view: from the engine instance's state `st`
 * (kernel + monitor files) while there is an instance, else from the
 * record. `instanceDir` holds the last health check's result.
 */
export function containerStatus(record: ContainerState, st: EngineState | null, instanceDir: string): StatusFields {
  // One object, filled in (ps makes one per container: spreads of a base
  // into each case's object were most of what a status allocated).
  const v: StatusFields = {
    pid: 0, exitCode: record.exitCode ?? 0, oomKilled: !!record.oomKilled, startedAt: record.startedAt, finishedAt: record.finishedAt, status: 'exited',
  };
  // Between an exit and the policy's start (and during it): restarting.
  const restarting = !!record.restart?.pending && restartPending(record);
  if (!st) {
    v.status = restarting ? 'restarting' : record.status === 'created' ? 'created' : 'exited';
    return v;
  }
  // The last health check's result, in the instance's directory (health/state.ts).
  const health = healthActive(record.request?.healthcheck) ? readHealth(instanceDir) : undefined;
  switch (st.status) {
    case 'running':
    case 'paused':
      v.status = st.status;
      v.pid = st.pid;
      v.finishedAt = undefined;
      v.exitCode = 0;
      v.oomKilled = false;
      v.health = health;
      return v;
    case 'created':
    case 'creating':
      v.status = restarting ? 'restarting' : 'created';
      return v;
    case 'stopped': {
      const again = restarting || restartDue(record, st);
      v.status = again ? 'restarting' : 'exited';
      // Restarting before the monitor has written this exit (a moment): the last known code, not "unknown".
      if (!again || st.exit) Object.assign(v, exitFields(st));
      v.health = health;
      return v;
    }
  }
}

/** A stopped instance's exit, as a view shows it. */
export function exitFields(st: EngineState): Pick<ContainerView, 'exitCode' | 'oomKilled' | 'finishedAt' | 'error'> {
  const exit = st.exit;
  if (exit) return { exitCode: exit.exitCode, oomKilled: exit.oomKilled, finishedAt: exit.finishedAt };
  return { exitCode: UNKNOWN_EXIT, oomKilled: false, error: 'the container monitor exited before recording the exit status' };
}

// A restart's wait belongs to this boot only: pids and their start times repeat after a reboot.
let ownBootId: string | undefined;

export function bootId(): string {
  try {
    return (ownBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  } catch {
    return '';
  }
}

/** The record says a restart waits (or runs), and the process doing it is alive in this boot. */
export function restartPending(r: ContainerState): boolean {
  const p = r.restart?.pending;
  return !!p && !r.manuallyStopped && (!p.bootId || p.bootId === bootId()) && isSameProcess(p.pid, p.pidStart);
}

/**
 * An exit the policy restarts, whose exit command (in the monitor's
 * process, alive until it has decided or while it waits) has not recorded
 * its wait yet: restarting already, so that no rm or start slips into the
 * moment between the exit and that record (Docker has no such moment).
 */
function restartDue(r: ContainerState, st: EngineState): boolean {
  const policy = r.request?.restartPolicy;
  if (!restarts(policy) || r.manuallyStopped) return false;
  // Before the monitor has recorded the exit (a moment), on-failure takes it for a failure.
  const exitCode = st.exit?.exitCode ?? UNKNOWN_EXIT;
  return shouldRestart(policy, { exitCode, manuallyStopped: false, count: r.restart?.count ?? 0 }) && st.monitorAlive;
}
