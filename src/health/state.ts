// A container's health (Docker's State.Health): kept in the instance's state
// directory (runroot/containers/ID/health.json, beside the monitor's
// exit.json), so each start begins again at `starting` and the last result
// of a stopped container stays readable until the next start or rm. Written
// by `healthcheck run` (health/run.ts) under the container's lock; read
// without it (the file is replaced whole).
import { readFileSync } from 'node:fs';
import { healthActive, type HealthConfig } from './config.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One check, as Docker's HealthcheckResult. */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  /** The last MAX_HEALTH_LOG results, oldest first. */
  Log: HealthResult[];
}

export const HEALTH_FILE = 'health.json';
/** Docker's maxLogEntries. */
export const MAX_HEALTH_LOG = 5;

const STARTING: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };

/** The recorded health in an instance directory; `starting` before the first result. */
export function readHealth(instanceDir: string): HealthState {
  try {
    const h = JSON.parse(readFileSync(`${instanceDir}/${HEALTH_FILE}`, 'utf8')) as HealthState;
    if (h && (h.Status === 'starting' || h.Status === 'healthy' || h.Status === 'unhealthy') && Array.isArray(h.Log)) return h;
  } catch {
    // none yet (or a file from another version): starting
  }
  return { ...STARTING, Log: [] };
}

/** The health of a container with an instance, when it has a check (ps, inspect, filters). */
export function containerHealth(instanceDir: string, config: HealthConfig | undefined): HealthState | undefined {
  return healthActive(config) ? readHealth(instanceDir) : undefined;
}

/**
 * Docker's handleProbeResult: a pass makes it healthy and clears the
 * streak; a failure counts toward `retries` (unhealthy when reached),
 * except while it is still `starting` within the start period.
 */
export function nextHealth(prev: HealthState, result: HealthResult, opts: { retries: number; startPeriodMs: number; startedAtMs: number }): HealthState {
  const next: HealthState = { Status: prev.Status, FailingStreak: prev.FailingStreak, Log: [...prev.Log, result].slice(-MAX_HEALTH_LOG) };
  if (result.ExitCode === 0) {
    next.FailingStreak = 0;
    next.Status = 'healthy';
    return next;
  }
  const inStartPeriod = prev.Status === 'starting' && Date.parse(result.Start) - opts.startedAtMs < opts.startPeriodMs;
  if (!inStartPeriod) {
    next.FailingStreak++;
    if (next.FailingStreak >= opts.retries) next.Status = 'unhealthy';
  }
  return next;
}
