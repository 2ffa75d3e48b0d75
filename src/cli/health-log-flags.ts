// run/create's health check and logging flags (declared here, parsed by
// health/config.ts and runtime/log-config.ts when a verb runs).
import type { Command } from 'commander';
import type { HealthFlags } from '../health/config.js';
import { collect } from './options.js';

export interface HealthLogFlags extends HealthFlags {
  logDriver?: string;
  logOpt?: string[];
}

export function addHealthLogOptions(cmd: Command): Command {
  return cmd
    .option('--health-cmd <command>', 'command to run to check health (run by /bin/sh -c in the container)')
    .option('--health-interval <duration>', 'time between running the check (ms|s|m|h) (default 30s)')
    .option('--health-timeout <duration>', 'maximum time to allow one check to run (ms|s|m|h) (default 30s)')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy (default 3)')
    .option('--health-start-period <duration>', 'start period for the container to initialize before failures count (ms|s|m|h) (default 0s)')
    .option('--health-start-interval <duration>', 'time between running the check during the start period (ms|s|m|h) (default 5s)')
    .option('--no-healthcheck', "disable any container-specified HEALTHCHECK")
    .option('--log-driver <driver>', 'logging driver: json-file (default) or none')
    .option('--log-opt <key=value>', 'log driver option: max-size=10m, max-file=3, compress=true (repeatable)', collect);
}

/** The CreateRequest fields of the flags (throws INVALID_ARGUMENT on bad input, before anything is created). */
export async function healthLogRequest(flags: HealthLogFlags): Promise<{ health?: import('../health/config.js').HealthConfig; logConfig?: import('../runtime/log-config.js').LogConfig }> {
  const given = flags.healthcheck === false || flags.logDriver !== undefined || !!flags.logOpt?.length
    || [flags.healthCmd, flags.healthInterval, flags.healthTimeout, flags.healthRetries, flags.healthStartPeriod, flags.healthStartInterval].some((v) => v !== undefined);
  if (!given) return {};
  const [{ parseHealthFlags }, { parseLogFlags }] = await Promise.all([import('../health/config.js'), import('../runtime/log-config.js')]);
  const health = parseHealthFlags(flags);
  const logConfig = parseLogFlags(flags.logDriver, flags.logOpt);
  return { ...(health ? { health } : {}), ...(logConfig ? { logConfig } : {}) };
}
