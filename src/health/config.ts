// A container's health check configuration: Docker's HealthConfig (the
// image's HEALTHCHECK, config.Healthcheck, with the run flags over it), the
// run flags that make it (--health-cmd, --health-interval, ... and
// --no-healthcheck, checked as the docker CLI and daemon check them), and
// what the monitor needs to keep its schedule.
import { TsrunError } from '../errors.js';

/** Docker's HealthConfig: durations in nanoseconds, 0 (or absent) meaning the default. */
export interface HealthConfig {
  /** [] (inherit), ['NONE'], ['CMD', arg...] or ['CMD-SHELL', script]. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The run/create flags, as commander gives them (`healthcheck: false` is --no-healthcheck). */
export interface HealthFlags {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
}

const MS = 1_000_000;
/** Docker's defaults (daemon/health.go). */
export const HEALTH_DEFAULTS = { Interval: 30_000 * MS, Timeout: 30_000 * MS, StartPeriod: 0, StartInterval: 5_000 * MS, Retries: 3 } as const;
// Docker's containertypes.MinimumDuration for a non-zero duration.
const MIN_DURATION = MS;

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Go's time.ParseDuration ("300ms", "1.5s", "1m30s", "-2h"; "0" alone needs
 * no unit), in nanoseconds; `flag` names the option in the error, as the
 * docker CLI prints it.
 */
export function parseGoDuration(value: string, flag: string): number {
  const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "${flag}" flag: time: ${why}`);
  let s = value;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad(`invalid duration ${JSON.stringify(value)}`);
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/;
  while (s !== '') {
    const m = part.exec(s)!;
    const [whole, int, frac, unit] = m;
    if ((int === '' && (frac ?? '') === '') || whole === '') throw bad(`invalid duration ${JSON.stringify(value)}`);
    if (unit === '') throw bad(`missing unit in duration ${JSON.stringify(value)}`);
    const scale = UNITS[unit];
    if (scale === undefined) throw bad(`unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(value)}`);
    total += Number(`${int || '0'}.${frac || '0'}`) * scale;
    s = s.slice(whole.length);
  }
  if (!Number.isSafeInteger(Math.round(total))) throw bad(`invalid duration ${JSON.stringify(value)}`);
  return sign * Math.round(total);
}

/** Go's Duration.String() for the durations a health check prints: 30s, 1m30s, 200ms, 1h0m0s. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = trim((ns % 60e9) / 1e9);
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

const trim = (n: number): string => String(Number(n.toFixed(9)));

/**
 * The health check the flags ask for (undefined: none given, the image's
 * applies). Checked as Docker checks them, before anything is created.
 */
export function parseHealthFlags(f: HealthFlags): HealthConfig | undefined {
  if (f.healthCmd !== undefined && f.healthCmd.trim() === '') throw new TsrunError('INVALID_ARGUMENT', '--health-cmd must not be empty');
  const duration = (value: string | undefined, flag: string, field: string): number => {
    if (value === undefined) return 0;
    const ns = parseGoDuration(value, flag);
    if (ns < 0) throw new TsrunError('INVALID_ARGUMENT', `${flag} cannot be negative`);
    if (ns !== 0 && ns < MIN_DURATION) throw new TsrunError('INVALID_ARGUMENT', `${field} in Healthcheck cannot be less than 1ms (${flag} ${value})`);
    return ns;
  };
  const interval = duration(f.healthInterval, '--health-interval', 'Interval');
  const timeout = duration(f.healthTimeout, '--health-timeout', 'Timeout');
  const startPeriod = duration(f.healthStartPeriod, '--health-start-period', 'StartPeriod');
  const startInterval = duration(f.healthStartInterval, '--health-start-interval', 'StartInterval');
  let retries = 0;
  if (f.healthRetries !== undefined) {
    if (!/^[-+]?\d+$/.test(f.healthRetries)) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(f.healthRetries)} for "--health-retries" flag: not an integer`);
    }
    retries = Number(f.healthRetries);
    if (retries < 0) throw new TsrunError('INVALID_ARGUMENT', '--health-retries cannot be negative');
    if (!Number.isSafeInteger(retries) || retries > 2 ** 31 - 1) {
      throw new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(f.healthRetries)} for "--health-retries" flag: value out of range`);
    }
  }
  const any = f.healthCmd !== undefined || f.healthInterval !== undefined || f.healthTimeout !== undefined || f.healthRetries !== undefined
    || f.healthStartPeriod !== undefined || f.healthStartInterval !== undefined;
  if (f.healthcheck === false) {
    if (any) throw new TsrunError('INVALID_ARGUMENT', '--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  return compact({
    Test: f.healthCmd !== undefined ? ['CMD-SHELL', f.healthCmd] : undefined,
    Interval: interval, Timeout: timeout, StartPeriod: startPeriod, StartInterval: startInterval, Retries: retries,
  });
}

/** Docker's merge (daemon/commit.go): the user's fields, each unset one (empty, 0) taken from the image's. */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  const img = image ? checkImageHealthcheck(image) : undefined;
  if (!user) return img;
  if (!img) return compact(user);
  return compact({
    Test: user.Test?.length ? user.Test : img.Test,
    Interval: user.Interval || img.Interval,
    Timeout: user.Timeout || img.Timeout,
    StartPeriod: user.StartPeriod || img.StartPeriod,
    StartInterval: user.StartInterval || img.StartInterval,
    Retries: user.Retries || img.Retries,
  });
}

// An image's Healthcheck is data from a registry: only its known fields, of the right types, are kept.
function checkImageHealthcheck(h: HealthConfig): HealthConfig | undefined {
  if (typeof h !== 'object' || h === null) return undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : undefined);
  const test = Array.isArray(h.Test) && h.Test.every((t) => typeof t === 'string') ? h.Test : undefined;
  return compact({
    Test: test, Interval: num(h.Interval), Timeout: num(h.Timeout), StartPeriod: num(h.StartPeriod),
    StartInterval: num(h.StartInterval), Retries: num(h.Retries),
  });
}

/** Only the set fields, as Docker's JSON (omitempty) shows them. */
function compact(h: HealthConfig): HealthConfig {
  const out: HealthConfig = {};
  if (h.Test?.length) out.Test = h.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (h[k]) out[k] = h[k];
  return out;
}

/** Whether the container runs a check: a test other than NONE. */
export function healthActive(h: HealthConfig | undefined): h is HealthConfig & { Test: string[] } {
  return !!h?.Test?.length && h.Test[0] !== 'NONE';
}

/** The command the check runs in the container; INVALID_ARGUMENT for a test Docker would not run either. */
export function healthCommand(h: HealthConfig & { Test: string[] }): string[] {
  const [kind, ...rest] = h.Test;
  if (kind === 'CMD' && rest.length) return rest;
  if (kind === 'CMD-SHELL' && rest.length) return ['/bin/sh', '-c', rest.join(' ')];
  throw new TsrunError('INVALID_ARGUMENT', `unknown health check type ${JSON.stringify(h.Test)}: use ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]`);
}

/** The settings with Docker's defaults for the unset ones. */
export function effectiveHealth(h: HealthConfig): Required<Omit<HealthConfig, 'Test'>> {
  return {
    Interval: h.Interval || HEALTH_DEFAULTS.Interval,
    Timeout: h.Timeout || HEALTH_DEFAULTS.Timeout,
    StartPeriod: h.StartPeriod || HEALTH_DEFAULTS.StartPeriod,
    StartInterval: h.StartInterval || HEALTH_DEFAULTS.StartInterval,
    Retries: h.Retries || HEALTH_DEFAULTS.Retries,
  };
}

/** What the monitor keeps the schedule with (engine.ts turns it into its argv). */
export interface MonitorHealth {
  /** Run each time a check is due: `tsrun --root R --runroot RR healthcheck run ID`. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

export function monitorHealth(h: HealthConfig | undefined, argv: string[]): MonitorHealth | undefined {
  if (!healthActive(h)) return undefined;
  const e = effectiveHealth(h);
  const ms = (ns: number) => Math.max(1, Math.round(ns / MS));
  return { argv, intervalMs: ms(e.Interval), timeoutMs: ms(e.Timeout), startPeriodMs: Math.round(e.StartPeriod / MS), startIntervalMs: ms(e.StartInterval) };
}
