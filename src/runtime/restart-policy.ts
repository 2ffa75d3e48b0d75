// Restart policies (`run`/`create --restart`), Docker's: the one parser and
// validator of the flag (docker/cli's ParseRestartPolicy and the daemon's
// ValidateRestartPolicy, with their messages), and the restart manager's
// rules (moby's restartmanager): which exit restarts, how long to wait first,
// which containers `system boot` starts after a host reboot.
//
// No tsrun process runs between exits: a container with a policy gets an
// exit command (`container cleanup`), and that short-lived process decides by
// these rules, waits the delay and starts the container again
// (Containers.cleanup). What must survive between those processes is in the
// container record: RestartBook below, and `manuallyStopped`.
import { TsrunError } from '../errors.js';

export type RestartPolicyName = 'no' | 'always' | 'on-failure' | 'unless-stopped';

/** inspect's HostConfig.RestartPolicy. MaximumRetryCount 0 with on-failure: no limit. */
export interface RestartPolicy {
  Name: RestartPolicyName;
  MaximumRetryCount: number;
}

export const NO_RESTART: RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };

/** The first delay, its cap, and the run time after which the next delay starts over (moby restartmanager). */
export const RESTART_DELAY_MIN_MS = 100;
export const RESTART_DELAY_MAX_MS = 60_000;
export const RESTART_RESET_AFTER_MS = 10_000;

/** A cleanup process waiting to restart the container: alive while its pid has this start time. */
export interface PendingRestart {
  pid: number;
  pidStart?: string;
  /** /proc/sys/kernel/random/boot_id: a pid and its start time mean nothing after a reboot. */
  bootId?: string;
  /** When the wait began (it also tells one wait from another of the same process). */
  since: string;
  delayMs: number;
}

/** The restart manager's state, kept in the container record between exits (reset by a user's start). */
export interface RestartBook {
  /** Restarts by the policy since a user last started the container (on-failure's limit counts these). */
  count: number;
  /** The last delay waited (doubled at the next restart unless the container ran 10 s). */
  delayMs: number;
  pending?: PendingRestart;
}

const NAMES: RestartPolicyName[] = ['no', 'always', 'on-failure', 'unless-stopped'];

function invalid(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

/** `--restart VALUE`: `no`, `always`, `unless-stopped`, `on-failure[:N]` (an empty value: `no`). */
export function parseRestartPolicy(value: string): RestartPolicy {
  if (value === '') return NO_RESTART;
  const colon = value.indexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  const count = colon < 0 ? '' : value.slice(colon + 1);
  if (colon >= 0 && name === '') throw invalid('invalid restart policy format: no policy provided before colon');
  // Go's strconv.Atoi: an optional sign, decimal digits.
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw invalid('invalid restart policy format: maximum retry count must be an integer');
  const policy = { Name: name as RestartPolicyName, MaximumRetryCount: count === '' ? 0 : Number(count) };
  validateRestartPolicy(policy);
  return policy;
}

/** The daemon's checks of a policy (also for policies that come from elsewhere than the flag). */
export function validateRestartPolicy(p: RestartPolicy): void {
  if (!NAMES.includes(p.Name)) {
    throw invalid(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (!Number.isSafeInteger(p.MaximumRetryCount)) throw invalid('invalid restart policy format: maximum retry count must be an integer');
  if (p.Name !== 'on-failure' && p.MaximumRetryCount !== 0) {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'${p.MaximumRetryCount < 0 ? ' and cannot be negative' : ''}`);
  }
  if (p.MaximumRetryCount < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
}

/** `--restart` with `--rm` (Docker's CLI refuses the pair). */
export function checkRestartWithAutoRemove(p: RestartPolicy | undefined, autoRemove: boolean | undefined): void {
  if (autoRemove && p && p.Name !== 'no') throw invalid('Conflicting options: --restart and --rm');
}

/** The policy asks for restarts at all. */
export function restarts(p: RestartPolicy | undefined): p is RestartPolicy {
  return !!p && p.Name !== 'no';
}

/**
 * Whether an exit restarts the container (moby's ShouldRestart): `always`
 * whatever the code, `unless-stopped` too unless a user stopped it,
 * `on-failure` on a non-zero code while fewer than N restarts were made.
 * A user's stop or kill (manuallyStopped) ends `always` as well: Docker
 * cancels the restart manager then.
 */
export function shouldRestart(p: RestartPolicy | undefined, exit: { exitCode: number; manuallyStopped: boolean; count: number }): boolean {
  if (!restarts(p) || exit.manuallyStopped) return false;
  if (p.Name === 'on-failure') return exit.exitCode !== 0 && (p.MaximumRetryCount === 0 || exit.count < p.MaximumRetryCount);
  return true;
}

/**
 * The delay before the next restart: 100 ms first, then doubled up to a
 * minute; a container that ran 10 s or more starts over at 100 ms.
 */
export function nextRestartDelay(previousMs: number, ranMs: number): number {
  const prev = ranMs >= RESTART_RESET_AFTER_MS ? 0 : previousMs;
  return prev <= 0 ? RESTART_DELAY_MIN_MS : Math.min(prev * 2, RESTART_DELAY_MAX_MS);
}

/**
 * Whether `system boot` starts a container after a host reboot (moby's
 * restore): one that was started before, with `always` (even if a user
 * stopped it), or `unless-stopped` that no user stopped. `on-failure`
 * containers are not started (the reboot's exit is no failure of theirs).
 */
export function startsAtBoot(p: RestartPolicy | undefined, c: { startedBefore: boolean; manuallyStopped: boolean }): boolean {
  if (!c.startedBefore || !restarts(p)) return false;
  return p.Name === 'always' || (p.Name === 'unless-stopped' && !c.manuallyStopped);
}
