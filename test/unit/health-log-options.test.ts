// The health check and log driver flags of run/create: Go durations, Docker's
// checks and merge with the image's HEALTHCHECK, the health state machine,
// and --log-driver/--log-opt.
import { describe, expect, it } from 'vitest';
import {
  formatGoDuration, healthCommand, mergeHealthcheck, monitorHealth, parseGoDuration, parseHealthFlags, type HealthFlags,
} from '../../src/health/config.js';
import { nextHealth, type HealthResult, type HealthState } from '../../src/health/state.js';
import { logRotation, parseLogFlags, ramInBytes } from '../../src/runtime/log-config.js';
import { statusText } from '../../src/runtime/status-text.js';
import { containerFilter, type ContainerFilterLookup } from '../../src/runtime/container-filters.js';
import type { ContainerSummary, DockerStatus } from '../../src/runtime/containers.js';
import { parseFilterFlags } from '../../src/util/filters.js';
import { rejection, thrown } from '../helpers/expect-error.js';

const MS = 1e6;
const S = 1e9;

describe('parseGoDuration', () => {
  it.each([
    ['0', 0], ['0s', 0], ['1ns', 1], ['1us', 1e3], ['1µs', 1e3], ['300ms', 300 * MS], ['0.2s', 200 * MS], ['.5s', 500 * MS],
    ['1.5s', 1.5 * S], ['30s', 30 * S], ['1m30s', 90 * S], ['2h', 7200 * S], ['1h2m3s', 3723 * S], ['-1s', -S], ['+5ms', 5 * MS],
  ])('%s', (v, ns) => {
    expect(parseGoDuration(v, '--health-interval')).toBe(ns);
  });

  it.each([
    ['', 'invalid duration ""'], ['abc', 'invalid duration "abc"'], ['10', 'missing unit in duration "10"'],
    ['1x', 'unknown unit "x" in duration "1x"'], ['1d', 'unknown unit "d" in duration "1d"'], ['.s', 'invalid duration ".s"'],
    ['1 s', 'unknown unit " s" in duration "1 s"'],
  ])('refuses %j as the docker CLI does', (v, why) => {
    const err = thrown(() => parseGoDuration(v, '--health-interval'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`invalid argument ${JSON.stringify(v)} for "--health-interval" flag: time: ${why}`);
  });

  it('formats as Go prints a Duration', () => {
    expect([30 * S, 200 * MS, 1.5 * S, 90 * S, 3600 * S, 0, 500].map(formatGoDuration)).toEqual(['30s', '200ms', '1.5s', '1m30s', '1h0m0s', '0s', '500ns']);
  });
});

describe('parseHealthFlags', () => {
  it('no flag: the image decides', () => {
    expect(parseHealthFlags({})).toBeUndefined();
    expect(parseHealthFlags({ healthcheck: true })).toBeUndefined();
  });

  it('--health-cmd is a CMD-SHELL test; durations in ns; unset fields left out', () => {
    expect(parseHealthFlags({ healthCmd: 'curl -f localhost', healthInterval: '0.2s', healthRetries: '2', healthStartInterval: '1s' })).toEqual({
      Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 200 * MS, Retries: 2, StartInterval: S,
    });
    // Only settings: they apply to the image's test.
    expect(parseHealthFlags({ healthTimeout: '3s', healthStartPeriod: '1m' })).toEqual({ Timeout: 3 * S, StartPeriod: 60 * S });
    expect(parseHealthFlags({ healthInterval: '0' })).toEqual({});
  });

  it('--no-healthcheck is Test NONE, and conflicts with any --health-* flag', () => {
    expect(parseHealthFlags({ healthcheck: false })).toEqual({ Test: ['NONE'] });
    const err = thrown(() => parseHealthFlags({ healthcheck: false, healthInterval: '1s' }));
    expect(err.message).toBe('--no-healthcheck conflicts with --health-* options');
  });

  it.each<[HealthFlags, string]>([
    [{ healthCmd: '' }, '--health-cmd must not be empty'],
    [{ healthCmd: '  ' }, '--health-cmd must not be empty'],
    [{ healthInterval: '-1s' }, '--health-interval cannot be negative'],
    [{ healthTimeout: '500us' }, 'Timeout in Healthcheck cannot be less than 1ms (--health-timeout 500us)'],
    [{ healthStartPeriod: '-2m' }, '--health-start-period cannot be negative'],
    [{ healthStartInterval: '10' }, 'invalid argument "10" for "--health-start-interval" flag: time: missing unit in duration "10"'],
    [{ healthRetries: 'x' }, 'invalid argument "x" for "--health-retries" flag: not an integer'],
    [{ healthRetries: '-1' }, '--health-retries cannot be negative'],
    [{ healthRetries: '99999999999' }, 'invalid argument "99999999999" for "--health-retries" flag: value out of range'],
  ])('refuses %j', (flags, message) => {
    const err = thrown(() => parseHealthFlags(flags));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(message);
  });
});

describe('mergeHealthcheck (Docker: each unset field from the image)', () => {
  const image = { Test: ['CMD', '/check'], Interval: 10 * S, Timeout: 2 * S, Retries: 5 };

  it('the image alone, the user alone, or the user over the image', () => {
    expect(mergeHealthcheck(undefined, image)).toEqual(image);
    expect(mergeHealthcheck({ Test: ['CMD-SHELL', 'x'] }, undefined)).toEqual({ Test: ['CMD-SHELL', 'x'] });
    expect(mergeHealthcheck({ Interval: S }, image)).toEqual({ ...image, Interval: S });
    expect(mergeHealthcheck({ Test: ['CMD-SHELL', 'y'], Retries: 1 }, image)).toEqual({ ...image, Test: ['CMD-SHELL', 'y'], Retries: 1 });
    expect(mergeHealthcheck({ Test: ['NONE'] }, image)).toEqual({ ...image, Test: ['NONE'] });
    expect(mergeHealthcheck(undefined, undefined)).toBeUndefined();
  });

  it("keeps only well-typed fields of an image's config", () => {
    expect(mergeHealthcheck(undefined, { Test: [1, 2] as unknown as string[], Interval: -5, Retries: 'x' as unknown as number })).toEqual({});
  });

  it('the test command and the monitor schedule (Docker defaults for unset fields)', () => {
    expect(healthCommand({ Test: ['CMD-SHELL', 'test -e /ok'] })).toEqual(['/bin/sh', '-c', 'test -e /ok']);
    expect(healthCommand({ Test: ['CMD', '/bin/check', '-q'] })).toEqual(['/bin/check', '-q']);
    expect(thrown(() => healthCommand({ Test: ['WHAT', 'x'] })).code).toBe('INVALID_ARGUMENT');
    expect(monitorHealth({ Test: ['CMD', 'x'] }, ['tsrun'])).toEqual({ argv: ['tsrun'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5000 });
    expect(monitorHealth({ Test: ['CMD', 'x'], Interval: 200 * MS, StartPeriod: S }, ['t'])).toMatchObject({ intervalMs: 200, startPeriodMs: 1000 });
    expect(monitorHealth({ Test: ['NONE'] }, ['t'])).toBeUndefined();
    expect(monitorHealth({ Interval: S }, ['t'])).toBeUndefined();
    expect(monitorHealth(undefined, ['t'])).toBeUndefined();
  });
});

describe('nextHealth (Docker handleProbeResult)', () => {
  const started = Date.UTC(2024, 0, 1);
  const at = (ms: number, code: number): HealthResult => ({ Start: new Date(started + ms).toISOString(), End: new Date(started + ms + 5).toISOString(), ExitCode: code, Output: '' });
  const starting: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  const opts = { retries: 2, startPeriodMs: 1000, startedAtMs: started };

  it('a pass is healthy and clears the streak; failures reach unhealthy at `retries`', () => {
    let h = nextHealth(starting, at(2000, 1), opts);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 1 });
    h = nextHealth(h, at(2100, 1), opts);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
    h = nextHealth(h, at(2200, 0), opts);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    h = nextHealth(h, at(2300, 1), opts);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
  });

  it('failures in the start period do not count while starting; they do once it has been healthy', () => {
    let h = nextHealth(starting, at(100, 1), opts);
    h = nextHealth(h, at(200, 2), opts);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    h = nextHealth(h, at(300, 0), opts);
    h = nextHealth(nextHealth(h, at(400, 1), opts), at(500, 1), opts);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
  });

  it('keeps the last 5 results', () => {
    let h = starting;
    for (let i = 0; i < 8; i++) h = nextHealth(h, at(2000 + i, 0), opts);
    expect(h.Log.map((r) => r.Start)).toEqual([3, 4, 5, 6, 7].map((i) => at(2000 + i, 0).Start));
  });
});

describe('--log-driver and --log-opt', () => {
  it('none given: the default json-file without rotation', () => {
    expect(parseLogFlags(undefined, undefined)).toBeUndefined();
    expect(logRotation(undefined)).toBeUndefined();
  });

  it('json-file options, with max-file 1 by default (Docker)', () => {
    const cfg = parseLogFlags(undefined, ['max-size=10k']);
    expect(cfg).toEqual({ Type: 'json-file', Config: { 'max-size': '10k' } });
    expect(logRotation(cfg)).toEqual({ maxSize: 10240, maxFile: 1, compress: false });
    const more = parseLogFlags('json-file', ['max-size=2m', 'max-file=3', 'compress=true']);
    expect(logRotation(more)).toEqual({ maxSize: 2 * 1024 ** 2, maxFile: 3, compress: true });
    expect(logRotation(parseLogFlags('json-file', ['max-file=3']))).toBeUndefined();
    expect(parseLogFlags('none', undefined)).toEqual({ Type: 'none', Config: {} });
    expect(logRotation({ Type: 'none', Config: {} })).toBeUndefined();
  });

  it('sizes as go-units RAMInBytes', () => {
    expect(['512', '10k', '10K', '2m', '1g', '1.5k', '10kb', '10KiB', '3 m'].map((v) => ramInBytes(v, 'max-size'))).toEqual([
      512, 10240, 10240, 2 * 1024 ** 2, 1024 ** 3, 1536, 10240, 10240, 3 * 1024 ** 2,
    ]);
  });

  it.each<[string | undefined, string[], string]>([
    ['k8s-file', [], "unknown log driver 'k8s-file': tsrun has json-file and none"],
    ['syslog', [], "unknown log driver 'syslog': tsrun has json-file and none"],
    ['none', ['max-size=1k'], 'invalid logging opts for driver none: max-size=1k'],
    [undefined, ['max-size'], "invalid log opt 'max-size': use KEY=VALUE (max-size, max-file or compress)"],
    [undefined, ['tag=x'], "unknown log opt 'tag' for json-file log driver (it takes max-size, max-file and compress)"],
    [undefined, ['max-size=abc'], 'invalid log opt max-size=abc: invalid size (use a number with an optional unit: 10k, 2m, 1g)'],
    [undefined, ['max-size=0'], 'invalid log opt max-size=0: max-size must be a positive number'],
    [undefined, ['max-size=1k', 'max-file=0'], 'invalid log opt max-file: max-file cannot be less than 1'],
    [undefined, ['max-size=1k', 'max-file=two'], 'invalid log opt max-file=two: a whole number is needed'],
    [undefined, ['max-size=1k', 'max-file=3', 'compress=maybe'], 'invalid log opt compress=maybe: use true or false'],
    [undefined, ['max-size=1k', 'compress=true'], 'invalid log opt compress=true: compress cannot be true when max-file is less than 2 or max-size is not set'],
    [undefined, ['max-file=3', 'compress=true'], 'invalid log opt compress=true: compress cannot be true when max-file is less than 2 or max-size is not set'],
  ])('refuses --log-driver %j --log-opt %j', (driver, opts, message) => {
    const err = thrown(() => parseLogFlags(driver, opts));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(message);
  });
});

describe('what ps shows of the health', () => {
  const NOW = Date.UTC(2024, 0, 1, 12);
  const health = (Status: HealthState['Status']): HealthState => ({ Status, FailingStreak: 0, Log: [] });
  const view = (status: DockerStatus, h?: HealthState) => ({
    status, health: h, startedAt: new Date(NOW - 5000).toISOString(), exitCode: 0,
    record: { id: 'a'.repeat(64), name: 'web', status: 'running' as const, created: new Date(NOW - 9000).toISOString() },
  });

  it('STATUS: Docker State.String()', () => {
    expect(statusText(view('running', health('healthy')), NOW)).toBe('Up 5 seconds (healthy)');
    expect(statusText(view('running', health('unhealthy')), NOW)).toBe('Up 5 seconds (unhealthy)');
    expect(statusText(view('running', health('starting')), NOW)).toBe('Up 5 seconds (health: starting)');
    expect(statusText(view('running'), NOW)).toBe('Up 5 seconds');
    expect(statusText(view('paused', health('healthy')), NOW)).toBe('Up 5 seconds (Paused)');
  });

  it('--filter health=: the recorded status, none without a check', async () => {
    const lookup = {} as ContainerFilterLookup;
    const summary = (h?: HealthState) => ({ ...view('running', h), command: [], image: 'x', pid: 1, oomKilled: false }) as unknown as ContainerSummary;
    const cs = [summary(health('healthy')), summary(health('starting')), summary()];
    const pick = async (v: string) => cs.filter(await containerFilter(parseFilterFlags([`health=${v}`]), lookup)).map((c) => c.health?.Status ?? 'none');
    expect(await pick('healthy')).toEqual(['healthy']);
    expect(await pick('starting')).toEqual(['starting']);
    expect(await pick('none')).toEqual(['none']);
    expect(await pick('unhealthy')).toEqual([]);
    expect((await rejection(pick('sick'))).code).toBe('INVALID_ARGUMENT');
  });
});
