// run/create's health check and logging flags → CreateRequest fields; shared by the CLI and the API service (declared in cli/health-log-flags.ts).
import type { HealthFlags } from '../health/config.js';

export interface HealthLogFlags extends HealthFlags {
  logDriver?: string;
  logOpt?: string[];
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
